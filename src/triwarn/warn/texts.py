"""What a warning says, in English, Japanese and Korean: one template per text, all in TEMPLATES below.

The shapes follow each country's public channels (docs/alert-profiles.md); the wording is our own.
  - Japanese follows J-Alert's short fixed shapes: the first message says "missile launch" twice, that a
    missile appears to have been launched (and from where, when the launch point says so) and to go
    into a building or underground; later ones say it passed or where it falls, and not to approach
    fallen objects. Times with 午前/午後.
  - Korean follows the emergency text message (재난문자) form: the issuing authority in brackets first,
    the civil-defence alert terms (경계경보: prepare to shelter, for neighbouring areas alerted with an
    area at risk; 공습경보: shelter now; 경보 해제: all clear), 오전/오후 with times, and a phone text of at
    most PHONE_MAX characters (the long form is the description).
  - English says things once.
Every time is the local time of the areas' own zone (Guam ChST, Japan JST, Korea KST, ...). A notice of
a fall at sea names the sea by the predicted point and speaks to ships, aircraft and the press, never to
a prefecture's residents. Every text of an exercise says so at the start and at the end, because many
channels drop CAP's status; the phone text says so at the start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from triwarn.warn.area_names import LANGUAGES, AreaNames, area_name

PHONE_MAX = 90  # characters a phone alert shows (WEA CMAMtext; Korean CBS on most phones)
PHONE_LONG_MAX = 360  # WEA CMAMlongtext

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
_EXERCISE_PHONE = {"en-US": "EXERCISE: ", "ja-JP": "【訓練】", "ko-KR": "[훈련] "}

# Civil-defence alert levels (Korean): sheltering now vs preparing to (a neighbour of an area at risk).
KR_AIR_RAID = "공습경보"
KR_ALERT = "경계경보"
KR_ALL_CLEAR = "경보 해제"

# One template per state and language. Fields: {areas} every area's name, {areas_short} at most a few
# (shortened further until the phone text fits), {time} the local clock, {origin} where from (or
# nothing), {authority} the issuer, {why} the reason (clear and error), {point} the predicted point at
# sea and {eez} whose exclusive economic zone (notice), {level} and {act} the Korean alert level and what
# it asks (shelter). "piece_notice" is the notice of one falling piece of a notified launch (state notice,
# warn.fall_notice): {zone} says whether its point lies inside a declared hazard zone (named, with the piece
# it was declared for) or how far outside the nearest, {zone_short} the same for the phone.
TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    "shelter": {
        "en-US": {
            "headline": "Missile launch: take shelter now in {areas_short}",
            "description": "A missile was launched at {time}{origin}. Its predicted flight path or impact area "
            "includes {areas}.",
            "instruction": "Go inside a sturdy building or underground now. If there is none nearby, take cover "
            "behind something solid or lie flat and protect your head. Stay away from windows.",
            "phone": "Missile launch. Go indoors or underground now: {areas_short}.",
        },
        "ja-JP": {
            "headline": "ミサイル発射情報（{areas_short}）",
            "description": "ミサイル発射。ミサイル発射。{time}頃、{origin}ミサイルが発射されたものとみられます。"
            "対象地域：{areas}。",
            "instruction": "建物の中、又は地下に避難して下さい。",
            "phone": "ミサイル発射。ミサイル発射。{origin}ミサイルが発射されたものとみられます。建物の中、又は地下に"
            "避難して下さい。（{areas_short}）",
        },
        "ko-KR": {
            "headline": "[{authority}] {level} 발령 ({areas_short})",
            "description": "[{authority}] {time} {origin}미사일 발사. {areas} 지역에 {level} 발령. {act}",
            "instruction": "{act}",
            "phone": "[{authority}] {time} {origin}미사일 발사. {areas_short} {level} 발령. {act_short}",
        },
    },
    "notice": {
        "en-US": {
            "headline": "Missile expected to fall at sea near {point}",
            "description": "A missile launched at {time}{origin} is expected to fall at sea near {point}, inside "
            "{eez} and outside land and territorial sea. No evacuation on land is needed.",
            "instruction": "Ships and aircraft near that point: follow further information. Do not approach "
            "any fallen object; report it to the coast guard.",
            "phone": "Missile expected to fall at sea near {point}. Ships: follow updates.",
        },
        "ja-JP": {
            "headline": "ミサイル落下情報（{point}付近の海域）",
            "description": "{time}頃に{origin}発射されたミサイルは、{point}付近、{eez}内に落下するものとみられ"
            "ます。陸上での避難の必要はありません。",
            "instruction": "付近の船舶や航空機は、今後の情報に注意して下さい。落下物を発見した場合は、決して"
            "近寄らず、直ちに海上保安庁に連絡して下さい。",
            "phone": "ミサイルは{point}付近の海域に落下するものとみられます。船舶は今後の情報に注意して下さい。",
        },
        "ko-KR": {
            "headline": "[{authority}] 미사일 해상 낙하 예상 ({point} 부근)",
            "description": "[{authority}] {time} {origin}발사된 미사일이 {point} 부근 {eez}에 낙하할 것으로 "
            "예상됨. 육상 대피는 필요 없음.",
            "instruction": "주변 선박과 항공기는 추가 정보에 유의하시기 바랍니다. 낙하물을 발견하면 가까이 가지 "
            "말고 해양경찰에 신고하시기 바랍니다.",
            "phone": "[{authority}] 미사일 {point} 부근 해상 낙하 예상. 선박은 추가 정보에 유의 바람",
        },
    },
    "piece_notice": {
        "en-US": {
            "headline": "Rocket piece expected to fall at sea near {point}",
            "description": "A rocket launched at {time}{origin} is shedding pieces. One is expected to fall at sea "
            "near {point}: {zone}. No evacuation on land is needed.",
            "instruction": "Ships and aircraft near that point: keep clear and follow further information. Do not "
            "approach any fallen object; report it to the coast guard.",
            "phone": "Rocket piece expected to fall at sea near {point} ({zone_short}). Ships: keep clear.",
        },
        "ja-JP": {
            "headline": "落下物情報（{point}付近の海域）",
            "description": "{time}頃に{origin}発射されたロケットの一部が、{point}付近の海域に落下するものとみられ"
            "ます。{zone}陸上での避難の必要はありません。",
            "instruction": "付近の船舶や航空機は、今後の情報に注意して下さい。落下物を発見した場合は、決して"
            "近寄らず、直ちに海上保安庁に連絡して下さい。",
            "phone": "ロケットの一部が{point}付近の海域に落下するものとみられます（{zone_short}）。船舶は注意して"
            "下さい。",
        },
        "ko-KR": {
            "headline": "[{authority}] 발사체 잔해 해상 낙하 예상 ({point} 부근)",
            "description": "[{authority}] {time} {origin}발사된 발사체의 일부가 {point} 부근 해상에 낙하할 것으로 "
            "예상됨. {zone} 육상 대피는 필요 없음.",
            "instruction": "주변 선박과 항공기는 접근하지 말고 추가 정보에 유의하시기 바랍니다. 낙하물을 발견하면 "
            "가까이 가지 말고 해양경찰에 신고하시기 바랍니다.",
            "phone": "[{authority}] 발사체 일부 {point} 부근 해상 낙하 예상({zone_short}). 선박은 유의 바람",
        },
    },
    "passed": {
        "en-US": {
            "headline": "Missile has passed over {areas_short}",
            "description": "At {time}, radar tracking confirmed that the missile has passed over {areas} and is "
            "moving away.",
            "instruction": "Do not approach any object that may have fallen; report it to the police or fire "
            "service. Follow further information.",
            "phone": "Missile has passed over {areas_short}. Do not approach fallen objects.",
        },
        "ja-JP": {
            "headline": "ミサイル通過（{areas_short}）",
            "description": "ミサイル通過。ミサイル通過。{time}頃、ミサイルが{areas}の上空を通過したものとみられ"
            "ます。",
            "instruction": "不審な物を発見した場合は、決して近寄らず、直ちに警察や消防などに連絡して下さい。",
            "phone": "ミサイル通過。ミサイルは{areas_short}の上空を通過した模様です。不審な物には決して近寄らない"
            "で下さい。",
        },
        "ko-KR": {
            "headline": "[{authority}] 미사일 통과 ({areas_short})",
            "description": "[{authority}] {time} 미사일이 {areas} 상공을 통과하여 멀어지는 것을 레이더로 확인함.",
            "instruction": "낙하물로 의심되는 물체를 발견하면 가까이 가지 말고 즉시 경찰(112)이나 소방(119)에 "
            "신고하시기 바랍니다.",
            "phone": "[{authority}] {time} 미사일 {areas_short} 상공 통과. 낙하물 발견 시 접근 말고 112·119 "
            "신고 바람",
        },
    },
    "clear": {
        "en-US": {
            "headline": "All clear: {areas_short}",
            "description": "{why} You no longer need to shelter in {areas}.",
            "instruction": "Do not approach any object that may have fallen; report it to the police or fire "
            "service.",
            "phone": "All clear for {areas_short}. Do not approach fallen objects.",
        },
        "ja-JP": {
            "headline": "避難の呼びかけ解除（{areas_short}）",
            "description": "{why}{areas}では、避難の必要はなくなりました。",
            "instruction": "不審な物を発見した場合は、決して近寄らず、直ちに警察や消防などに連絡して下さい。",
            "phone": "{areas_short}：避難の必要はなくなりました。不審な物には決して近寄らないで下さい。",
        },
        "ko-KR": {
            "headline": "[{authority}] " + KR_ALL_CLEAR + " ({areas_short})",
            "description": "[{authority}] {time} {areas} " + KR_ALL_CLEAR + ". {why}",
            "instruction": "낙하물로 의심되는 물체를 발견하면 가까이 가지 말고 즉시 경찰(112)이나 소방(119)에 "
            "신고하시기 바랍니다.",
            "phone": "[{authority}] {time} {areas_short} " + KR_ALL_CLEAR + ". 낙하물 발견 시 접근 말고 신고 바람",
        },
    },
    "error": {
        "en-US": {
            "headline": "Correction: missile alert for {areas_short} was issued in error",
            "description": "The missile alert for {areas} was issued in error. {why} There is no missile threat "
            "to {areas}.",
            "instruction": "You do not need to shelter. Resume normal activities.",
            "phone": "Correction: the missile alert for {areas_short} was sent in error.",
        },
        "ja-JP": {
            "headline": "訂正：ミサイル発射情報は誤りでした（{areas_short}）",
            "description": "{areas}に対するミサイル発射情報は誤りでした。{why}",
            "instruction": "避難の必要はありません。通常の生活に戻って下さい。",
            "phone": "訂正：{areas_short}へのミサイル発射情報は誤りでした。避難の必要はありません。",
        },
        "ko-KR": {
            "headline": "[{authority}] 경보 오발령 ({areas_short})",
            "description": "[{authority}] {areas}에 발령된 경보는 오발령임. {why}",
            "instruction": "대피할 필요가 없습니다. 일상으로 복귀하시기 바랍니다.",
            "phone": "[{authority}] {areas_short}에 발령된 경보는 오발령임. 대피 불필요, 일상 복귀 바람",
        },
    },
}

_KR_ACT = {
    KR_AIR_RAID: ("즉시 가까운 지하 대피소나 튼튼한 건물 안으로 대피하시기 바랍니다. 창문에서 떨어지시기 바랍니다.",
                  "즉시 지하 등 대피소로 대피 바람"),
    KR_ALERT: ("대피할 준비를 하시고, 어린이와 노약자가 먼저 대피할 수 있도록 해 주시기 바랍니다.",
               "대피 준비 바람"),
}

_CLEAR_WHY = {
    "beyond": {
        "en-US": "Radar tracking confirms that the missile is now far beyond {areas}.",
        "ja-JP": "ミサイルは{areas}から遠く離れたことをレーダーで確認しました。",
        "ko-KR": "레이더 추적 결과 미사일이 {areas}에서 멀리 벗어난 것이 확인됨.",
    },
    "landed": {
        "en-US": "The missile's flight is over: it has fallen.",
        "ja-JP": "ミサイルは既に落下したとみられます。",
        "ko-KR": "미사일은 이미 낙하한 것으로 보임.",
    },
    "lost_no_threat": {
        "en-US": "Radar lost track of the missile, so its passage was not confirmed; by now it can no longer "
        "be in flight, and no threat to {areas} remains.",
        "ja-JP": "ミサイルはレーダーから消失したため通過は確認されていませんが、現時点で飛行を続けている"
        "可能性はなく、{areas}への脅威はなくなりました。",
        "ko-KR": "레이더에서 미사일 항적이 사라져 통과는 확인되지 않았으나, 현재 비행 중일 가능성은 없으며 "
        "{areas}에 대한 위협은 사라짐.",
    },
    "no_longer_at_risk": {
        "en-US": "Updated predictions no longer place {areas} under the flight path or impact area.",
        "ja-JP": "最新の予測では、{areas}は飛行経路・落下予測地域から外れました。",
        "ko-KR": "최신 예측에 따르면 {areas} 지역은 비행 경로와 낙하 예상 지역에서 벗어남.",
    },
    "thrust_ended_short": {
        "en-US": "The missile's engine stopped early: radar tracking shows it will fall short of {areas}, "
        "at sea. No threat to {areas} remains.",
        "ja-JP": "ミサイルの推進は早く終了しました。レーダー追尾により、{areas}に届かず海上に落下する"
        "見込みであることを確認しました。{areas}への脅威はなくなりました。",
        "ko-KR": "미사일의 추진이 일찍 종료됨. 레이더 추적 결과 {areas}에 미치지 못하고 해상에 낙하할 "
        "것으로 확인됨. {areas}에 대한 위협은 사라짐.",
    },
    "lost_at_sea": {
        "en-US": "Radar lost track of the missile over the sea after its engine stopped; its predicted "
        "fall is at sea, clear of {areas}. No threat to {areas} remains.",
        "ja-JP": "ミサイルは推進終了後に海上でレーダーから消失しました。落下予測地点は{areas}から離れた"
        "海上で、{areas}への脅威はなくなりました。",
        "ko-KR": "미사일은 추진 종료 후 해상에서 레이더 항적이 사라졌으며, 낙하 예상 지점은 {areas}에서 "
        "벗어난 해상임. {areas}에 대한 위협은 사라짐.",
    },
}

_ERROR_WHY = {
    "separated_piece": {
        "en-US": "It was based on a short radar track of a piece that separated from the missile; the "
        "missile itself was tracked on a course that does not reach these areas.",
        "ja-JP": "これはミサイルから分離した物体の短い航跡に基づく予測によるもので、ミサイル本体はこれらの"
        "地域に到達しない経路で追尾されました。",
        "ko-KR": "미사일에서 분리된 물체의 짧은 레이더 항적에 근거한 예측 때문이었으며, 미사일 본체는 "
        "이 지역에 도달하지 않는 경로로 추적됨.",
    },
    "operator_error": {
        "en-US": "It was sent in error by the warning operator.",
        "ja-JP": "これは担当者の誤操作により送信されたものです。",
        "ko-KR": "담당자의 실수로 발송된 것임.",
    },
    "false_detection": {
        "en-US": "The detection that triggered it was false: no missile was launched.",
        "ja-JP": "これは誤探知によるもので、ミサイルは発射されていませんでした。",
        "ko-KR": "오탐지에 따른 것으로, 미사일은 발사되지 않았음.",
    },
}

_ORIGIN = {"en-US": " from North Korea", "ja-JP": "北朝鮮から", "ko-KR": "북한 "}
_EEZ = {
    "JP": {"en-US": "Japan's exclusive economic zone", "ja-JP": "日本の排他的経済水域",
           "ko-KR": "일본 배타적 경제수역"},
    "KR": {"en-US": "Korea's exclusive economic zone", "ja-JP": "韓国の排他的経済水域",
           "ko-KR": "한국 배타적 경제수역"},
    "US": {"en-US": "the US exclusive economic zone", "ja-JP": "米国の排他的経済水域", "ko-KR": "미국 배타적 경제수역"},
}
# A piece notice's zone verdict: inside a declared zone (with the piece it was declared for, if any), outside
# (km from the nearest), or no zones declared.
_ZONE_IN = {"en-US": "inside declared hazard zone {label}{piece}",
            "ja-JP": "落下予想地点は事前に通報された危険区域{label}{piece}の内側です。",
            "ko-KR": "사전 통보된 위험구역 {label}{piece} 안쪽임."}
_ZONE_OUT = {"en-US": "outside the declared hazard zones, about {km} km from the nearest (zone {label})",
             "ja-JP": "落下予想地点は事前に通報された危険区域の外側で、最も近い区域{label}から約{km}キロメートル"
             "です。", "ko-KR": "사전 통보된 위험구역 밖이며, 가장 가까운 구역 {label}에서 약 {km}km 떨어짐."}
_ZONE_NONE = {"en-US": "outside land and territorial sea", "ja-JP": "", "ko-KR": ""}
_ZONE_IN_SHORT = {"en-US": "in zone {label}", "ja-JP": "危険区域{label}内", "ko-KR": "위험구역 {label} 안"}
_ZONE_OUT_SHORT = {"en-US": "{km} km outside the zones", "ja-JP": "危険区域外、約{km}km",
                   "ko-KR": "위험구역 밖 약 {km}km"}
_PIECE = {
    "stage1": {"en-US": "first stage", "ja-JP": "1段目", "ko-KR": "1단 추진체"},
    "stage2": {"en-US": "second stage", "ja-JP": "2段目", "ko-KR": "2단 추진체"},
    "stage3": {"en-US": "third stage", "ja-JP": "3段目", "ko-KR": "3단 추진체"},
    "fairing": {"en-US": "fairing", "ja-JP": "フェアリング", "ko-KR": "페어링"},
    "payload": {"en-US": "payload", "ja-JP": "搭載物", "ko-KR": "탑재체"},
}
_PIECE_FORM = {"en-US": ", declared for the {name}", "ja-JP": "（{name}）", "ko-KR": "({name})"}
_EEZ_ANY = {"en-US": "an exclusive economic zone", "ja-JP": "排他的経済水域", "ko-KR": "배타적 경제수역"}
_SOME_AREAS = {"en-US": "your area", "ja-JP": "対象地域", "ko-KR": "해당 지역"}


@dataclass(frozen=True)
class Text:
    """One language's words for one group of areas: headline, description and instruction for CAP, and
    the phone text (at most PHONE_MAX characters) and its long form (at most PHONE_LONG_MAX)."""

    headline: str
    description: str
    instruction: str
    phone: str = ""
    phone_long: str = ""


@dataclass(frozen=True)
class Occasion:
    """What a text is about beyond its areas: times in unix s, the launch point and the predicted point
    at sea in degrees, the issuer's authority per language, and the zone for local times."""

    tz: str = "UTC"
    launch_t: float | None = None
    event_t: float | None = None
    launch_latlon: tuple[float, float] | None = None
    impact_latlon: tuple[float, float] | None = None
    authority: Mapping[str, str] | None = None
    exercise: bool = False
    # A falling piece's notice (warn.fall_notice): its zone verdict, label of the zone it lies in (inside)
    # or of the nearest, the piece that zone was declared for, km outside it; zone None with piece_notice:
    # no zones were declared.
    piece_notice: bool = False
    zone: str | None = None
    zone_piece: str | None = None
    zone_inside: bool = False
    zone_km: float | None = None


def zone_words(occasion: Occasion, lang: str) -> tuple[str, str]:
    """A piece notice's zone verdict in the language: the sentence and the phone's short form."""
    if occasion.zone is None:
        return _ZONE_NONE[lang], _ZONE_NONE[lang]
    piece = ""
    if occasion.zone_piece in _PIECE:
        piece = _PIECE_FORM[lang].format(name=_PIECE[occasion.zone_piece][lang])
    if occasion.zone_inside:
        return (_ZONE_IN[lang].format(label=occasion.zone, piece=piece),
                _ZONE_IN_SHORT[lang].format(label=occasion.zone))
    km = f"{occasion.zone_km or 0.0:.0f}"
    return _ZONE_OUT[lang].format(label=occasion.zone, km=km), _ZONE_OUT_SHORT[lang].format(km=km)


def local_clock(t_unix_s: float | None, lang: str, tz: str) -> str:
    """A time of day in the zone, as each language says it: "7:22 AM JST", "午前7時22分", "오전 7시 22분"."""
    if t_unix_s is None:
        return {"en-US": "just now", "ja-JP": "先ほど", "ko-KR": "방금"}[lang]
    local = datetime.fromtimestamp(t_unix_s, ZoneInfo(tz))
    hour12 = local.hour % 12 or 12
    pm = local.hour >= 12
    if lang == "en-US":
        return f"{hour12}:{local.minute:02d} {'PM' if pm else 'AM'} {local.tzname()}"
    if lang == "ja-JP":
        return f"{'午後' if pm else '午前'}{hour12}時{local.minute:02d}分"
    return f"{'오후' if pm else '오전'} {hour12}시 {local.minute:02d}분"


def sea_point(lat_deg: float, lon_deg: float, lang: str) -> str:
    """A point at sea as mariners read it, in the language: "20.4°N 136.1°E", "北緯20.4度、東経136.1度"."""
    ns, ew = ("N" if lat_deg >= 0 else "S"), ("E" if lon_deg >= 0 else "W")
    la, lo = abs(lat_deg), abs(lon_deg)
    if lang == "en-US":
        return f"{la:.1f}°{ns} {lo:.1f}°{ew}"
    if lang == "ja-JP":
        return f"{'北緯' if ns == 'N' else '南緯'}{la:.1f}度、{'東経' if ew == 'E' else '西経'}{lo:.1f}度"
    return f"{'북위' if ns == 'N' else '남위'} {la:.1f}도, {'동경' if ew == 'E' else '서경'} {lo:.1f}도"


def launched_from_north_korea(lat_deg: float, lon_deg: float) -> bool:
    """Whether a launch point lies for certain in North Korea: a box north of the whole demilitarised zone
    (38.65 N) and south of the Tumen and Yalu (43.1 N); launches closer to the border name no country."""
    return 38.65 <= lat_deg <= 43.1 and 124.0 <= lon_deg <= 130.8


def join_names(
    codes: Sequence[str], lang: str, names: AreaNames = area_name, *, limit: int | None = None
) -> str:
    """The areas' names as a list in the language's own style; with limit, the rest are counted."""
    shown = [names(c)[lang] for c in codes]
    rest = 0
    if limit is not None and len(shown) > limit:
        shown, rest = shown[:limit], len(shown) - limit
    if not shown:
        return _SOME_AREAS[lang]
    if lang == "en-US":
        if rest:
            return ", ".join(shown) + f" and {rest} more"
        return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    if lang == "ja-JP":
        return "、".join(shown) + (f"など{len(shown) + rest}地域" if rest else "")
    return ", ".join(shown) + (f" 등 {len(shown) + rest}개 지역" if rest else "")


def render(
    state: str,
    codes: Sequence[str],
    lang: str,
    occasion: Occasion,
    *,
    reason: str | None = None,
    kinds: Sequence[str] = (),
    names: AreaNames = area_name,
) -> Text:
    """The text of one group of areas in one state (shelter, notice, passed, clear, error) and language.

    reason: for clear one of records.warnings.CLEAR_REASONS, for error one of ERROR_REASONS. kinds: the
    areas' kinds (impact, overflight, adjacent); Korean says 경계경보 when every area is only a neighbour.
    """
    tpl = TEMPLATES["piece_notice" if state == "notice" and occasion.piece_notice else state][lang]
    authority = (occasion.authority or SENDER_NAME)[lang]
    full = join_names(codes, lang, names)
    origin = ""
    if occasion.launch_latlon is not None and launched_from_north_korea(*occasion.launch_latlon):
        origin = _ORIGIN[lang]
    level = KR_ALERT if kinds and all(k == "adjacent" for k in kinds) else KR_AIR_RAID
    point = ""
    if occasion.impact_latlon is not None:
        point = sea_point(*occasion.impact_latlon, lang)
    nation = codes[0].split("-")[0] if codes else ""
    when = occasion.launch_t if state in ("shelter", "notice") else occasion.event_t
    why = ""
    if state == "clear":
        why = _CLEAR_WHY[reason or "landed"][lang].format(areas=full)
    elif state == "error":
        why = _ERROR_WHY[reason or "operator_error"][lang]
    fields = {
        "areas": full, "time": local_clock(when, lang, occasion.tz), "origin": origin, "authority": authority,
        "why": why, "point": point, "eez": _EEZ.get(nation, _EEZ_ANY)[lang], "level": level,
        "act": _KR_ACT[level][0], "act_short": _KR_ACT[level][1],
    }
    fields["zone"], fields["zone_short"] = zone_words(occasion, lang)
    text = Text(
        tpl["headline"].format(**fields, areas_short=join_names(codes, lang, names, limit=3)).strip(),
        tpl["description"].format(**fields, areas_short=full).strip(),
        tpl["instruction"].format(**fields).strip(),
    )
    tag = _EXERCISE_PHONE[lang] if occasion.exercise else ""
    phone = ""
    for short in [*(join_names(codes, lang, names, limit=n) for n in (3, 2, 1)), _SOME_AREAS[lang]]:
        phone = tag + tpl["phone"].format(**fields, areas_short=short)
        if len(phone) <= PHONE_MAX:
            break
    phone = phone if len(phone) <= PHONE_MAX else phone[: PHONE_MAX - 1] + "…"
    long_form = f"{phone} {text.instruction}"
    if len(long_form) > PHONE_LONG_MAX:
        long_form = phone
    text = Text(text.headline, text.description, text.instruction, phone, long_form)
    return mark_exercise(text, lang) if occasion.exercise else text


def mark_exercise(text: Text, lang: str) -> Text:
    """The exercise tag at the start of the headline and at both ends of the description (the phone text
    carries it already)."""
    tag = EXERCISE_TAG[lang]
    headline = {"en-US": f"{tag}: ", "ja-JP": f"【{tag}】", "ko-KR": f"[{tag}] "}[lang] + text.headline
    return Text(headline, f"{_EXERCISE_HEAD[lang]}{text.description}{_EXERCISE_TAIL[lang]}", text.instruction,
                text.phone, text.phone_long)


__all__ = [
    "EVENT",
    "EXERCISE_TAG",
    "KR_AIR_RAID",
    "KR_ALERT",
    "KR_ALL_CLEAR",
    "LANGUAGES",
    "PHONE_LONG_MAX",
    "PHONE_MAX",
    "SENDER_NAME",
    "TEMPLATES",
    "Occasion",
    "Text",
    "join_names",
    "launched_from_north_korea",
    "local_clock",
    "mark_exercise",
    "render",
    "sea_point",
    "zone_words",
]
