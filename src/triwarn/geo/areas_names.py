"""Names of the alert areas in English, Japanese and Korean, keyed by ISO 3166-2 code.

Korea: Gangwon (KR-42) and Jeonbuk (KR-45) became "special self-governing provinces" in 2023 and 2024;
the names below are the current ones. The iso-codes database shows KR-42 renamed in place; Jeonbuk is
taken to have kept KR-45 likewise (see docs/geodata.md). Some lists use KR-51 and KR-52 for them:
`CODE_ALIASES` maps those to the codes used here.
"""

from __future__ import annotations

# code: (English, Japanese, Korean)
AREA_NAMES: dict[str, tuple[str, str, str]] = {
    "JP-01": ("Hokkaido", "北海道", "홋카이도"),
    "JP-02": ("Aomori", "青森県", "아오모리현"),
    "JP-03": ("Iwate", "岩手県", "이와테현"),
    "JP-04": ("Miyagi", "宮城県", "미야기현"),
    "JP-05": ("Akita", "秋田県", "아키타현"),
    "JP-06": ("Yamagata", "山形県", "야마가타현"),
    "JP-07": ("Fukushima", "福島県", "후쿠시마현"),
    "JP-08": ("Ibaraki", "茨城県", "이바라키현"),
    "JP-09": ("Tochigi", "栃木県", "도치기현"),
    "JP-10": ("Gunma", "群馬県", "군마현"),
    "JP-11": ("Saitama", "埼玉県", "사이타마현"),
    "JP-12": ("Chiba", "千葉県", "지바현"),
    "JP-13": ("Tokyo", "東京都", "도쿄도"),
    "JP-14": ("Kanagawa", "神奈川県", "가나가와현"),
    "JP-15": ("Niigata", "新潟県", "니가타현"),
    "JP-16": ("Toyama", "富山県", "도야마현"),
    "JP-17": ("Ishikawa", "石川県", "이시카와현"),
    "JP-18": ("Fukui", "福井県", "후쿠이현"),
    "JP-19": ("Yamanashi", "山梨県", "야마나시현"),
    "JP-20": ("Nagano", "長野県", "나가노현"),
    "JP-21": ("Gifu", "岐阜県", "기후현"),
    "JP-22": ("Shizuoka", "静岡県", "시즈오카현"),
    "JP-23": ("Aichi", "愛知県", "아이치현"),
    "JP-24": ("Mie", "三重県", "미에현"),
    "JP-25": ("Shiga", "滋賀県", "시가현"),
    "JP-26": ("Kyoto", "京都府", "교토부"),
    "JP-27": ("Osaka", "大阪府", "오사카부"),
    "JP-28": ("Hyogo", "兵庫県", "효고현"),
    "JP-29": ("Nara", "奈良県", "나라현"),
    "JP-30": ("Wakayama", "和歌山県", "와카야마현"),
    "JP-31": ("Tottori", "鳥取県", "돗토리현"),
    "JP-32": ("Shimane", "島根県", "시마네현"),
    "JP-33": ("Okayama", "岡山県", "오카야마현"),
    "JP-34": ("Hiroshima", "広島県", "히로시마현"),
    "JP-35": ("Yamaguchi", "山口県", "야마구치현"),
    "JP-36": ("Tokushima", "徳島県", "도쿠시마현"),
    "JP-37": ("Kagawa", "香川県", "가가와현"),
    "JP-38": ("Ehime", "愛媛県", "에히메현"),
    "JP-39": ("Kochi", "高知県", "고치현"),
    "JP-40": ("Fukuoka", "福岡県", "후쿠오카현"),
    "JP-41": ("Saga", "佐賀県", "사가현"),
    "JP-42": ("Nagasaki", "長崎県", "나가사키현"),
    "JP-43": ("Kumamoto", "熊本県", "구마모토현"),
    "JP-44": ("Oita", "大分県", "오이타현"),
    "JP-45": ("Miyazaki", "宮崎県", "미야자키현"),
    "JP-46": ("Kagoshima", "鹿児島県", "가고시마현"),
    "JP-47": ("Okinawa", "沖縄県", "오키나와현"),
    "KR-11": ("Seoul", "ソウル特別市", "서울특별시"),
    "KR-26": ("Busan", "釜山広域市", "부산광역시"),
    "KR-27": ("Daegu", "大邱広域市", "대구광역시"),
    "KR-28": ("Incheon", "仁川広域市", "인천광역시"),
    "KR-29": ("Gwangju", "光州広域市", "광주광역시"),
    "KR-30": ("Daejeon", "大田広域市", "대전광역시"),
    "KR-31": ("Ulsan", "蔚山広域市", "울산광역시"),
    "KR-41": ("Gyeonggi Province", "京畿道", "경기도"),
    "KR-42": ("Gangwon State", "江原特別自治道", "강원특별자치도"),
    "KR-43": ("North Chungcheong Province", "忠清北道", "충청북도"),
    "KR-44": ("South Chungcheong Province", "忠清南道", "충청남도"),
    "KR-45": ("Jeonbuk State", "全北特別自治道", "전북특별자치도"),
    "KR-46": ("South Jeolla Province", "全羅南道", "전라남도"),
    "KR-47": ("North Gyeongsang Province", "慶尚北道", "경상북도"),
    "KR-48": ("South Gyeongsang Province", "慶尚南道", "경상남도"),
    "KR-49": ("Jeju Province", "済州特別自治道", "제주특별자치도"),
    "KR-50": ("Sejong", "世宗特別自治市", "세종특별자치시"),
    "US-AK": ("Alaska", "アラスカ州", "알래스카주"),
    "US-GU": ("Guam", "グアム", "괌"),
    "US-HI": ("Hawaii", "ハワイ州", "하와이주"),
    "US-MP": ("Northern Mariana Islands", "北マリアナ諸島", "북마리아나 제도"),
}

CODE_ALIASES: dict[str, str] = {"KR-51": "KR-42", "KR-52": "KR-45"}

LANGUAGES: tuple[str, ...] = ("en", "ja", "ko")
