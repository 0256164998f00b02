"""What a warning says, in English, Japanese and Korean.

The wording follows the habits of each country's public channels: J-Alert repeats the event
(「ミサイル発射。ミサイル発射。」) and gives one plain instruction; Korea's emergency text messages start
with a bracketed tag and address people politely (…하시기 바랍니다). The texts are our own.

Times are shown in UTC in English and in Japan/Korea standard time (UTC+9) in Japanese and Korean.
Every text of an exercise says so at the start and at the end, because many channels drop CAP's status.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from triwarn.warn.area_names import LANGUAGES, AreaNames, area_name

EVENT = {"en-US": "Missile Launch", "ja-JP": "ミサイル発射", "ko-KR": "미사일 발사"}
SENDER_NAME = {
    "en-US": "triwarn missile warning",
    "ja-JP": "triwarn ミサイル警報",
    "ko-KR": "triwarn 미사일 경보",
}

EXERCISE_TAG = {"en-US": "EXERCISE", "ja-JP": "訓練", "ko-KR": "훈련"}
_EXERCISE_HEAD = {
    "en-US": "EXERCISE EXERCISE EXERCISE. ",
    "ja-JP": "【訓練】これは訓練です。",
    "ko-KR": "[훈련] 이것은 훈련 상황입니다. ",
}
_EXERCISE_TAIL = {"en-US": " THIS IS AN EXERCISE.", "ja-JP": "（訓練）", "ko-KR": " (훈련)"}


@dataclass(frozen=True)
class Text:
    """One language's headline, description and instruction for one group of areas."""

    headline: str
    description: str
    instruction: str


def _ko(word: str, after_consonant: str, after_vowel: str) -> str:
    """The word with the Korean particle its last syllable takes (은/는, 을/를); both forms written out
    when the word does not end in Hangul."""
    last = word[-1] if word else ""
    if "가" <= last <= "힣":
        has_final = (ord(last) - ord("가")) % 28 != 0
        return word + (after_consonant if has_final else after_vowel)
    return f"{word}{after_consonant}({after_vowel})"


def _clock(t_unix_s: float | None, lang: str) -> str:
    if t_unix_s is None:
        return {"en-US": "just now", "ja-JP": "先ほど", "ko-KR": "방금"}[lang]
    if lang == "en-US":
        return time.strftime("%H:%M UTC", time.gmtime(t_unix_s))
    local = time.gmtime(t_unix_s + 9 * 3600)
    if lang == "ja-JP":
        return f"{local.tm_hour}時{local.tm_min:02d}分頃"
    return f"{local.tm_hour}시 {local.tm_min:02d}분경"


def join_names(
    codes: Sequence[str], lang: str, names: AreaNames = area_name, *, limit: int | None = None
) -> str:
    """The areas' names as a list in the language's own style; with limit, the rest are counted."""
    shown = [names(c)[lang] for c in codes]
    rest = 0
    if limit is not None and len(shown) > limit:
        shown, rest = shown[:limit], len(shown) - limit
    if lang == "en-US":
        if rest:
            return ", ".join(shown) + f" and {rest} more"
        return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    if lang == "ja-JP":
        return "、".join(shown) + (f"など{len(shown) + rest}地域" if rest else "")
    return ", ".join(shown) + (f" 등 {len(shown) + rest}개 지역" if rest else "")


def shelter(codes: Sequence[str], launch_t: float | None, lang: str, names: AreaNames = area_name) -> Text:
    """Take shelter now: the areas are under the predicted flight path or impact area."""
    full, short = join_names(codes, lang, names), join_names(codes, lang, names, limit=3)
    at = _clock(launch_t, lang)
    if lang == "en-US":
        return Text(
            f"Missile launch - take shelter now: {short}",
            f"Missile launch. Missile launch. A missile was launched at {at}. Its predicted flight path or "
            f"impact area includes {full}.",
            "Go inside a sturdy building or underground now. If there is no building nearby, take cover "
            "behind something solid or lie flat on the ground and protect your head. Stay away from windows.",
        )
    if lang == "ja-JP":
        return Text(
            f"ミサイル発射。直ちに避難（{short}）",
            f"ミサイル発射。ミサイル発射。{at}、ミサイルが発射されたとみられます。{full}は、予測される"
            "飛行経路または落下予測地域に含まれています。",
            "直ちに頑丈な建物の中、又は地下に避難して下さい。近くに適当な建物がない場合は、物陰に身を隠すか"
            "地面に伏せて頭部を守って下さい。窓から離れて下さい。",
        )
    return Text(
        f"[미사일 발사] 즉시 대피 ({short})",
        f"[미사일 발사] 오늘 {at} 미사일이 발사된 것으로 보입니다. {_ko(full, '은', '는')} "
        "예상 비행 경로 또는 낙하 예상 지역에 포함됩니다.",
        "즉시 튼튼한 건물 안이나 지하로 대피하시기 바랍니다. 주변에 건물이 없으면 단단한 물체 뒤에 몸을 "
        "숨기거나 땅에 엎드려 머리를 보호하십시오. 창문에서 떨어지시기 바랍니다.",
    )


def notice(codes: Sequence[str], launch_t: float | None, lang: str, names: AreaNames = area_name) -> Text:
    """Impact expected at sea inside the EEZ only: information, no evacuation on land."""
    full, short = join_names(codes, lang, names), join_names(codes, lang, names, limit=3)
    at = _clock(launch_t, lang)
    if lang == "en-US":
        return Text(
            f"Missile launch - expected to fall at sea off {short}",
            f"A missile was launched at {at}. It is expected to fall at sea inside the exclusive economic "
            f"zone off {full}, outside its land and territorial sea. No evacuation on land is needed.",
            "Ships and aircraft in the area: follow further information. Do not approach any fallen object; "
            "report it to the coast guard or police.",
        )
    if lang == "ja-JP":
        return Text(
            f"ミサイル発射。{short}沖の排他的経済水域に落下の見込み",
            f"{at}、ミサイルが発射されたとみられます。ミサイルは{full}沖の排他的経済水域（EEZ）内、"
            "領土・領海の外に落下する見込みです。陸上での避難の必要はありません。",
            "付近の船舶や航空機は今後の情報に注意して下さい。落下物を発見した場合は決して近寄らず、"
            "直ちに海上保安庁や警察に連絡して下さい。",
        )
    return Text(
        f"[미사일 발사] {short} 앞바다 배타적 경제수역 낙하 예상",
        f"[미사일 발사] 오늘 {at} 미사일이 발사된 것으로 보입니다. 미사일은 {full} 앞바다의 배타적 경제수역"
        "(EEZ), 영토와 영해 밖에 낙하할 것으로 예상됩니다. 육상에서는 대피할 필요가 없습니다.",
        "주변 선박과 항공기는 앞으로의 정보에 유의하시기 바랍니다. 낙하물을 발견하면 가까이 가지 말고 "
        "해양경찰이나 경찰에 신고하시기 바랍니다.",
    )


def passed(codes: Sequence[str], lang: str, names: AreaNames = area_name) -> Text:
    """Radar has seen the missile past the areas; fallen debris may remain."""
    full, short = join_names(codes, lang, names), join_names(codes, lang, names, limit=3)
    if lang == "en-US":
        return Text(
            f"Missile has passed: {short}",
            f"Radar tracking confirms that the missile has passed {full} and is moving away.",
            "Do not approach any object that may have fallen; report it to the police or fire service. "
            "Follow further information.",
        )
    if lang == "ja-JP":
        return Text(
            f"ミサイル通過（{short}）",
            f"ミサイル通過。ミサイルは{full}を通過し、遠ざかっていることをレーダーで確認しました。",
            "不審な物を発見した場合には、決して近寄らず、直ちに警察や消防などに連絡して下さい。"
            "今後の情報に注意して下さい。",
        )
    return Text(
        f"[미사일 통과] {short}",
        f"[미사일 통과] 레이더 추적 결과 미사일이 {_ko(full, '을', '를')} 통과하여 멀어지고 있는 것이 "
        "확인되었습니다.",
        "낙하물로 의심되는 물체를 발견하면 가까이 가지 말고 즉시 경찰이나 소방서에 신고하시기 바랍니다. "
        "앞으로의 정보에 유의하시기 바랍니다.",
    )


_CLEAR_WHY = {
    "beyond": {
        "en-US": "Radar tracking confirms that the missile is now far beyond {areas}.",
        "ja-JP": "ミサイルは{areas}から遠く離れたことをレーダーで確認しました。",
        "ko-KR": "레이더 추적 결과 미사일이 {areas}에서 멀리 벗어난 것이 확인되었습니다.",
    },
    "landed": {
        "en-US": "The missile's flight is over: it has fallen.",
        "ja-JP": "ミサイルは既に落下したとみられます。",
        "ko-KR": "미사일은 이미 낙하한 것으로 보입니다.",
    },
    "lost_no_threat": {
        "en-US": "Radar lost track of the missile, so its passage was not confirmed; by now it can no longer "
        "be in flight, and no threat to {areas} remains.",
        "ja-JP": "ミサイルはレーダーから消失したため通過は確認されていませんが、現時点で飛行を続けている"
        "可能性はなく、{areas}への脅威はなくなりました。",
        "ko-KR": "레이더에서 미사일 항적이 사라져 통과는 확인되지 않았으나, 현재 비행 중일 가능성은 없으며 "
        "{areas}에 대한 위협은 사라졌습니다.",
    },
    "no_longer_at_risk": {
        "en-US": "Updated predictions no longer place {areas} under the flight path or impact area.",
        "ja-JP": "最新の予測では、{areas}は飛行経路・落下予測地域から外れました。",
        "ko-KR": "최신 예측에 따르면 {areas_topic} 비행 경로와 낙하 예상 지역에서 벗어났습니다.",
    },
}


def all_clear(codes: Sequence[str], reason: str, lang: str, names: AreaNames = area_name) -> Text:
    """Sheltering is no longer needed, and why."""
    full, short = join_names(codes, lang, names), join_names(codes, lang, names, limit=3)
    why = _CLEAR_WHY[reason][lang].format(areas=full, areas_topic=_ko(full, "은", "는"))
    if lang == "en-US":
        return Text(
            f"All clear: {short}",
            f"{why} You no longer need to shelter in {full}.",
            "Do not approach any object that may have fallen; report it to the police or fire service.",
        )
    if lang == "ja-JP":
        return Text(
            f"避難の必要はなくなりました（{short}）",
            f"{why}{full}では避難の必要はなくなりました。",
            "不審な物を発見した場合には、決して近寄らず、直ちに警察や消防などに連絡して下さい。",
        )
    return Text(
        f"[상황 해제] {short}",
        f"{why} {full}에서는 더 이상 대피할 필요가 없습니다.",
        "낙하물로 의심되는 물체를 발견하면 가까이 가지 말고 즉시 경찰이나 소방서에 신고하시기 바랍니다.",
    )


_ERROR_WHY = {
    "separated_piece": {
        "en-US": "It was based on a short radar track of a piece that separated from the missile; the "
        "missile itself was tracked on a course that does not reach these areas.",
        "ja-JP": "これはミサイルから分離した物体の短い航跡に基づく予測によるもので、ミサイル本体はこれらの"
        "地域に到達しない経路で追尾されました。",
        "ko-KR": "이는 미사일에서 분리된 물체의 짧은 레이더 항적에 근거한 예측 때문이었으며, 미사일 본체는 "
        "이 지역에 도달하지 않는 경로로 추적되었습니다.",
    },
    "operator_error": {
        "en-US": "It was sent in error by the warning operator.",
        "ja-JP": "これは担当者の誤操作により送信されたものです。",
        "ko-KR": "이는 담당자의 실수로 발송된 것입니다.",
    },
    "false_detection": {
        "en-US": "The detection that triggered it was false: no missile was launched.",
        "ja-JP": "これは誤探知によるもので、ミサイルは発射されていませんでした。",
        "ko-KR": "이는 오탐지에 따른 것으로, 미사일은 발사되지 않았습니다.",
    },
}


def issued_in_error(codes: Sequence[str], reason: str, lang: str, names: AreaNames = area_name) -> Text:
    """The earlier warning for these areas was a mistake; say so plainly and say why."""
    full, short = join_names(codes, lang, names), join_names(codes, lang, names, limit=3)
    why = _ERROR_WHY[reason][lang]
    if lang == "en-US":
        return Text(
            f"Correction: missile alert issued in error - {short}",
            f"The missile alert for {full} was issued in error. {why} There is no missile threat to {full}.",
            "You do not need to shelter. Resume normal activities.",
        )
    if lang == "ja-JP":
        return Text(
            f"訂正：ミサイル発射情報は誤りでした（{short}）",
            f"{full}に対するミサイル発射情報は誤りでした。{why}{full}へのミサイルの脅威はありません。",
            "避難の必要はありません。通常の生活に戻って下さい。",
        )
    return Text(
        f"[정정] 미사일 경보 오발령 ({short})",
        f"[정정] {full}에 발령된 미사일 경보는 잘못 발령되었습니다. {why} {full}에 대한 미사일 위협은 "
        "없습니다.",
        "대피할 필요가 없습니다. 일상으로 돌아가시기 바랍니다.",
    )


def mark_exercise(text: Text, lang: str) -> Text:
    """The exercise tag at the start of the headline and at both ends of the description."""
    tag = EXERCISE_TAG[lang]
    headline = {"en-US": f"{tag}: ", "ja-JP": f"【{tag}】", "ko-KR": f"[{tag}] "}[lang] + text.headline
    return Text(headline, f"{_EXERCISE_HEAD[lang]}{text.description}{_EXERCISE_TAIL[lang]}", text.instruction)


__all__ = [
    "EVENT",
    "EXERCISE_TAG",
    "LANGUAGES",
    "SENDER_NAME",
    "Text",
    "all_clear",
    "issued_in_error",
    "join_names",
    "mark_exercise",
    "notice",
    "passed",
    "shelter",
]
