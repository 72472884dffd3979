"""Countries: names, addresses, postal codes and phone numbers in each one's own format."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from orderly.sandbox.generator.draw import between, one_of


def _words(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


def _names(text: str) -> tuple[tuple[str, str], ...]:
    """Comma-separated names, each as written and in Latin letters for e-mail addresses: given as
    ``written:latin`` or, for Latin scripts, derived by dropping accents."""
    out = []
    for name in _words(text):
        written, _, latin = name.partition(":")
        if not latin:
            latin = "".join(c for c in unicodedata.normalize("NFKD", written) if c.isascii() and c.isalpha())
        out.append((written, latin.lower()))
    return tuple(out)


Place = tuple[str, str | None, str, str]  # city, region, postal code pattern, locality


def _places(table: str) -> tuple[Place, ...]:
    """One place a line: ``city | region | postal code pattern | locality`` (region, locality optional)."""
    rows = []
    for line in table.strip().splitlines():
        city, region, postal, locality = (part.strip() for part in line.split("|"))
        rows.append((city, region or None, postal, locality))
    return tuple(rows)


Street = Callable[[random.Random, Place], tuple[str, str | None]]


@dataclass(frozen=True)
class _Country:
    code: str
    given: tuple[tuple[str, str], ...]
    family: tuple[tuple[str, str], ...]
    family_first: str | None  # separator when the family name comes first (CN: "", JP: " ")
    places: tuple[Place, ...]
    street: Street
    phones: tuple[str, ...]
    domains: tuple[str, ...]

    def full_name(self, given: str, family: str) -> str:
        if self.family_first is not None:
            return f"{family}{self.family_first}{given}"
        return f"{given} {family}"


_ANGLO_STREETS = _words(
    "Maple, Oak, Cedar, Washington, Lincoln, Park, Lake, Hill, Sunset, Main, Elm, Pine, Walnut"
)


def _anglo_street(suffixes: str, unit: str) -> Street:
    kinds = _words(suffixes)

    def street(rng: random.Random, place: Place) -> tuple[str, str | None]:
        line1 = f"{between(rng, 1, 2999)} {one_of(rng, _ANGLO_STREETS)} {one_of(rng, kinds)}"
        line2 = f"{unit} {between(rng, 1, 40)}{one_of(rng, 'ABCD')}" if rng.random() < 0.3 else None
        return line1, line2

    return street


_GB_STREETS = _words("Victoria, Church, Station, High, Mill, Park, Queen's, King's, Manor, Albert")
_GB_KINDS = _words("Road, Street, Lane, Avenue, Close, Gardens, Terrace, Crescent")


def _gb_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line2 = f"Flat {between(rng, 1, 24)}" if rng.random() < 0.25 else None
    return f"{between(rng, 1, 240)} {one_of(rng, _GB_STREETS)} {one_of(rng, _GB_KINDS)}", line2


_DE_STREETS = _words("Haupt, Linden, Bahnhof, Schiller, Goethe, Garten, Berg, Kirch, Wald, Mühlen")
_DE_KINDS = _words("straße, weg, allee, gasse, ring")
_DE_EXTRA = _words("Hinterhaus, 3. OG links, 2. OG, Gartenhaus")


def _de_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    number = f"{between(rng, 1, 180)}{one_of(rng, 'abc') if rng.random() < 0.1 else ''}"
    line2 = one_of(rng, _DE_EXTRA) if rng.random() < 0.15 else None
    return f"{one_of(rng, _DE_STREETS)}{one_of(rng, _DE_KINDS)} {number}", line2


_FR_KINDS = _words("rue, avenue, boulevard, place, impasse, allée")
_FR_STREETS = _words(
    "de la République, Victor Hugo, Jean Jaurès, de la Paix, Pasteur, du Général Leclerc, des Lilas, "
    "Gambetta, Voltaire, de la Gare"
)


def _fr_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line2 = f"Bâtiment {one_of(rng, 'ABC')}, {between(rng, 1, 7)}e étage" if rng.random() < 0.3 else None
    number = f"{between(rng, 1, 150)}{' bis' if rng.random() < 0.05 else ''}"
    return f"{number} {one_of(rng, _FR_KINDS)} {one_of(rng, _FR_STREETS)}", line2


_CN_ROADS = _words("科技园南路, 建设路, 人民路, 解放路, 中山路, 滨河大道, 文化路, 学府路, 长江路")


def _cn_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line1 = f"{place[3]}{one_of(rng, _CN_ROADS)}{between(rng, 1, 399)}号"
    return line1, f"{between(rng, 1, 30)}栋{between(rng, 1, 33)}{between(rng, 1, 8):02d}室"


_JP_BUILDINGS = _words("パークハイツ, メゾン青葉, グランドール, サンライズ")


def _jp_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line1 = f"{place[3]}{between(rng, 1, 5)}-{between(rng, 1, 30)}-{between(rng, 1, 20)}"
    if rng.random() < 0.5:
        return line1, f"{one_of(rng, _JP_BUILDINGS)} {between(rng, 1, 12)}0{between(rng, 1, 9)}号室"
    return line1, None


def _sg_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    return (
        f"Blk {between(rng, 100, 799)} {place[3]} Avenue {between(rng, 1, 10)}",
        f"#{between(rng, 2, 25):02d}-{between(rng, 1, 150):02d}",
    )


_MY_ROADS = _words("SS 2/24, Bukit Bintang, Ampang, Tun Razak, Sultan Ismail, Harmoni 3, Mutiara 5")


def _my_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line2 = f"Taman {place[3]}" if rng.random() < 0.6 else None
    return f"No. {between(rng, 1, 120)}, Jalan {one_of(rng, _MY_ROADS)}", line2


_TH_ROADS = _words("สุขุมวิท, พหลโยธิน, รัชดาภิเษก, ลาดพร้าว, เพชรบุรี, นิมมานเหมินท์, มิตรภาพ, เจริญกรุง")


def _th_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    house = f"{between(rng, 1, 999)}/{between(rng, 1, 99)}"
    if rng.random() < 0.4:
        return f"{house} ซอย{one_of(rng, _TH_ROADS)} {between(rng, 1, 71)}", place[3]
    return f"{house} ถนน{one_of(rng, _TH_ROADS)}", place[3]


_PH_STREETS = _words("Rizal, Mabini, Bonifacio, Aguinaldo, Luna, Del Pilar, Katipunan, Burgos, Roxas")


def _ph_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line1 = f"{between(rng, 1, 999)} {one_of(rng, _PH_STREETS)} St."
    if rng.random() < 0.3:
        line1 = f"Unit {between(rng, 2, 40)}{one_of(rng, 'ABCD')}, {line1}"
    return line1, f"Brgy. {place[3]}"


_VN_STREETS = _words(
    "Lê Lợi, Nguyễn Huệ, Trần Hưng Đạo, Hai Bà Trưng, Lý Thường Kiệt, Điện Biên Phủ, Nguyễn Trãi, "
    "Cách Mạng Tháng Tám"
)


def _vn_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    street = one_of(rng, _VN_STREETS)
    if rng.random() < 0.3:
        return f"Số {between(rng, 1, 99)}, Ngõ {between(rng, 2, 200)} {street}", place[3]
    return f"{between(rng, 1, 400)} {street}", place[3]


_ID_STREETS = _words("Sudirman, Gatot Subroto, Diponegoro, Merdeka, Ahmad Yani, Pemuda, Kenanga, Veteran")


def _id_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    line2 = f"RT {between(rng, 1, 12):03d}/RW {between(rng, 1, 9):03d}, {place[3]}"
    return f"Jl. {one_of(rng, _ID_STREETS)} No. {between(rng, 1, 250)}", line2


_BR_STREETS = _words(
    "Rua Augusta, Rua Oscar Freire, Avenida Paulista, Rua das Flores, Avenida Brasil, Rua XV de Novembro, "
    "Rua da Consolação, Avenida Atlântica"
)


def _br_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    flat = f"Apto {between(rng, 1, 24)}{between(rng, 1, 4):02d}, " if rng.random() < 0.45 else ""
    return f"{one_of(rng, _BR_STREETS)}, {between(rng, 10, 2500)}", f"{flat}{place[3]}"


_MX_STREETS = _words(
    "Calle Durango, Avenida Insurgentes Sur, Calle Orizaba, Paseo de la Reforma, Calle Hidalgo, "
    "Avenida Juárez, Calle Morelos, Calle Colima"
)


def _mx_street(rng: random.Random, place: Place) -> tuple[str, str | None]:
    interior = f"Int. {between(rng, 1, 12)}, " if rng.random() < 0.35 else ""
    return f"{one_of(rng, _MX_STREETS)} {between(rng, 1, 1800)}", f"{interior}Col. {place[3]}"


_ANGLO_GIVEN = _names(
    "James, Olivia, Liam, Emma, Noah, Ava, Ethan, Sophia, Mason, Isabella, Lucas, Mia, Jack, Charlotte, "
    "Oliver, Amelia, Harry, Grace, Chloe, Daniel"
)
_ANGLO_FAMILY = _names(
    "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Taylor, Anderson, Thomas, Martin, "
    "Thompson, White, Clarke, Walker, Wright, Robinson, Nguyen, Patel"
)

COUNTRIES = {
    c.code: c
    for c in (
        _Country(
            "US",
            _ANGLO_GIVEN,
            _ANGLO_FAMILY,
            None,
            _places("""
                Austin | TX | 787## |
                Portland | OR | 972## |
                Brooklyn | NY | 112## |
                Columbus | OH | 432## |
                Denver | CO | 802## |
                Seattle | WA | 981## |
                Chicago | IL | 606## |
                San Diego | CA | 921## |
                Atlanta | GA | 303## |
                Boston | MA | 021## |
            """),
            _anglo_street("St, Ave, Rd, Dr, Ln, Blvd, Ct, Way", "Apt"),
            tuple(f"+1 {area}-$##-####" for area in (512, 503, 718, 614, 303, 206, 312, 619, 404, 617)),
            _words("gmail.com, yahoo.com, outlook.com, icloud.com, hotmail.com"),
        ),
        _Country(
            "CA",
            _ANGLO_GIVEN,
            _ANGLO_FAMILY,
            None,
            _places("""
                Toronto | ON | M5V #@# |
                Vancouver | BC | V6B #@# |
                Montréal | QC | H2X #@# |
                Calgary | AB | T2P #@# |
                Ottawa | ON | K1P #@# |
                Halifax | NS | B3H #@# |
            """),
            _anglo_street("St W, St E, Ave, Rd, Dr, Cres", "Unit"),
            tuple(f"+1 {area}-$##-####" for area in (416, 604, 514, 403, 613, 902)),
            _words("gmail.com, rogers.com, shaw.ca, outlook.com"),
        ),
        _Country(
            "GB",
            _ANGLO_GIVEN,
            _ANGLO_FAMILY,
            None,
            _places("""
                London | | SW11 #%% |
                London | | EC1V #%% |
                Manchester | | M20 #%% |
                Birmingham | West Midlands | B15 #%% |
                Leeds | West Yorkshire | LS6 #%% |
                Edinburgh | | EH3 #%% |
                Bristol | | BS8 #%% |
                Cambridge | Cambridgeshire | CB2 #%% |
            """),
            _gb_street,
            _words("+44 7400 ######, +44 7812 ######, +44 7956 ######, +44 20 7946 0###, +44 161 496 0###"),
            _words("gmail.com, btinternet.com, hotmail.co.uk, outlook.com"),
        ),
        _Country(
            "DE",
            _names(
                "Lukas, Anna, Leon, Mia, Felix, Hannah, Jonas, Lena, Paul, Marie, Jürgen, Sophie, "
                "Maximilian, Katrin, Tobias"
            ),
            _names(
                "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann, Koch, "
                "Richter, Klein, Wolf, Schröder"
            ),
            None,
            _places("""
                Berlin | Berlin | 10#15 |
                München | Bayern | 80##9 |
                Hamburg | Hamburg | 22##7 |
                Köln | Nordrhein-Westfalen | 50##7 |
                Frankfurt am Main | Hessen | 603#8 |
                Leipzig | Sachsen | 041#9 |
                Stuttgart | Baden-Württemberg | 701#3 |
            """),
            _de_street,
            _words("+49 151 ########, +49 160 #######, +49 170 #######, +49 176 ########, +49 30 ########"),
            _words("gmx.de, web.de, t-online.de, gmail.com"),
        ),
        _Country(
            "FR",
            _names(
                "Camille, Léa, Hugo, Louis, Manon, Chloé, Lucas, Inès, Gabriel, Jules, Élodie, Théo, "
                "Mathilde, Nicolas, Sébastien"
            ),
            _names(
                "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon, "
                "Laurent, Lefèvre, Michel, Garcia"
            ),
            None,
            _places("""
                Paris | Île-de-France | 7501# |
                Lyon | Auvergne-Rhône-Alpes | 6900# |
                Marseille | Provence-Alpes-Côte d'Azur | 1300# |
                Toulouse | Occitanie | 31000 |
                Bordeaux | Nouvelle-Aquitaine | 33000 |
                Lille | Hauts-de-France | 59000 |
                Nantes | Pays de la Loire | 44000 |
            """),
            _fr_street,
            _words("+33 6 1# ## ## ##, +33 6 7# ## ## ##, +33 7 5# ## ## ##, +33 1 4# ## ## ##"),
            _words("orange.fr, free.fr, laposte.net, gmail.com, sfr.fr"),
        ),
        _Country(
            "CN",
            _names(
                "伟:wei, 芳:fang, 娜:na, 敏:min, 静:jing, 磊:lei, 洋:yang, 婷:ting, 杰:jie, 晓明:xiaoming, "
                "子涵:zihan, 浩然:haoran"
            ),
            _names("王:wang, 李:li, 张:zhang, 刘:liu, 陈:chen, 杨:yang, 黄:huang, 赵:zhao, 吴:wu, 周:zhou"),
            "",
            _places("""
                深圳市 | 广东省 | 5180## | 南山区
                广州市 | 广东省 | 5106## | 天河区
                上海市 | 上海市 | 2001## | 浦东新区
                北京市 | 北京市 | 1000## | 朝阳区
                杭州市 | 浙江省 | 3100## | 西湖区
                南京市 | 江苏省 | 2100## | 鼓楼区
                成都市 | 四川省 | 6100## | 武侯区
                武汉市 | 湖北省 | 4300## | 洪山区
            """),
            _cn_street,
            _words("+86 138 #### ####, +86 139 #### ####, +86 159 #### ####, +86 186 #### ####"),
            _words("qq.com, 163.com, 126.com, sina.com"),
        ),
        _Country(
            "JP",
            _names(
                "翔太:shota, 陽菜:hina, 大輝:daiki, 美咲:misaki, 健:ken, 花子:hanako, 蓮:ren, 結衣:yui, "
                "悠真:yuma, さくら:sakura"
            ),
            _names(
                "佐藤:sato, 鈴木:suzuki, 高橋:takahashi, 田中:tanaka, 伊藤:ito, 渡辺:watanabe, "
                "山本:yamamoto, 中村:nakamura, 小林:kobayashi, 加藤:kato"
            ),
            " ",
            _places("""
                渋谷区 | 東京都 | 150-00## | 神南
                世田谷区 | 東京都 | 154-00## | 三軒茶屋
                大阪市北区 | 大阪府 | 530-00## | 梅田
                京都市中京区 | 京都府 | 604-8### | 河原町
                横浜市西区 | 神奈川県 | 220-00## | みなとみらい
                札幌市中央区 | 北海道 | 060-00## | 大通西
                福岡市博多区 | 福岡県 | 812-00## | 博多駅前
            """),
            _jp_street,
            _words("+81 90-$###-####, +81 80-$###-####, +81 70-$###-####, +81 3-$###-####"),
            _words("docomo.ne.jp, yahoo.co.jp, gmail.com, ezweb.ne.jp"),
        ),
        _Country(
            "SG",
            _names("Wei Ling, Jun Jie, Siti, Muhammad, Priya, Rajesh, Mei Ling, Daniel, Hui Min"),
            _names("Tan, Lim, Lee, Ng, Wong, Goh, Chua, Abdullah, Kumar, Ong"),
            None,
            _places("""
                Singapore | | 56#### | Ang Mo Kio
                Singapore | | 52#### | Tampines
                Singapore | | 46#### | Bedok North
                Singapore | | 64#### | Jurong West
                Singapore | | 31#### | Toa Payoh
                Singapore | | 73#### | Woodlands
            """),
            _sg_street,
            _words("+65 91## ####, +65 98## ####, +65 81## ####, +65 62## ####"),
            _words("gmail.com, singnet.com.sg, yahoo.com.sg, hotmail.com"),
        ),
        _Country(
            "MY",
            _names("Ahmad, Nurul, Siti, Muhammad, Wei Jie, Mei Ying, Kavitha, Arjun, Farah"),
            _names("Abdullah, Ibrahim, Tan, Lim, Wong, Rahman, Ismail, Krishnan, Chong"),
            None,
            _places("""
                Kuala Lumpur | Wilayah Persekutuan Kuala Lumpur | 50### | Desa
                Petaling Jaya | Selangor | 47### | Bahagia
                Shah Alam | Selangor | 40### | Sri Muda
                Johor Bahru | Johor | 80### | Molek
                George Town | Pulau Pinang | 10### | Tanjung
                Ipoh | Perak | 30### | Canning
                Kota Kinabalu | Sabah | 88### | Luyang
            """),
            _my_street,
            _words("+60 12-### ####, +60 16-### ####, +60 11-1### ####, +60 3-8### ####"),
            _words("gmail.com, yahoo.com.my, hotmail.com"),
        ),
        _Country(
            "AU",
            _ANGLO_GIVEN,
            _ANGLO_FAMILY,
            None,
            _places("""
                Surry Hills | NSW | 2010 |
                Bondi | NSW | 2026 |
                Fitzroy | VIC | 3065 |
                Brunswick | VIC | 3056 |
                Fortitude Valley | QLD | 4006 |
                Fremantle | WA | 6160 |
                Glenelg | SA | 5045 |
                Sandy Bay | TAS | 7005 |
                Braddon | ACT | 2612 |
            """),
            _anglo_street("St, Rd, Ave, Pde, Cres, Tce", "Unit"),
            _words("+61 41# ### ###, +61 42# ### ###, +61 40# ### ###, +61 2 9### ####, +61 3 9### ####"),
            _words("gmail.com, bigpond.com, optusnet.com.au, outlook.com"),
        ),
        _Country(
            "TH",
            _names(
                "สมชาย:somchai, สุดารัตน์:sudarat, ณัฐพล:nattaphon, ปิยะนุช:piyanuch, ธนากร:thanakorn, "
                "วรรณา:wanna, กิตติพงษ์:kittipong, อรุณี:arunee, พิมพ์ชนก:pimchanok, ศุภชัย:supachai"
            ),
            _names(
                "สุขใจ:sukjai, วงศ์สวัสดิ์:wongsawat, ศรีสุข:srisuk, แก้วมณี:kaewmanee, บุญมา:boonma, "
                "ทองดี:thongdee, จันทร์เพ็ญ:chanpen, รัตนพันธ์:rattanapan"
            ),
            None,
            _places("""
                เขตวัฒนา | กรุงเทพมหานคร | 10110 | แขวงคลองตันเหนือ
                เขตจตุจักร | กรุงเทพมหานคร | 10900 | แขวงจอมพล
                เขตบางรัก | กรุงเทพมหานคร | 10500 | แขวงสีลม
                อำเภอเมืองเชียงใหม่ | เชียงใหม่ | 50200 | ตำบลศรีภูมิ
                อำเภอเมืองขอนแก่น | ขอนแก่น | 40000 | ตำบลในเมือง
                อำเภอบางละมุง | ชลบุรี | 20150 | ตำบลหนองปรือ
                อำเภอเมืองภูเก็ต | ภูเก็ต | 83000 | ตำบลตลาดใหญ่
            """),
            _th_street,
            _words("+66 81-###-####, +66 89-###-####, +66 91-###-####, +66 95-###-####, +66 62-###-####"),
            _words("gmail.com, hotmail.com, yahoo.co.th"),
        ),
        _Country(
            "PH",
            _names(
                "Juan, Maria, Jose, Angelica, Mark, Kristine, John Paul, Mary Grace, Jericho, Princess, "
                "Carlo, Joy"
            ),
            _names(
                "Dela Cruz, Santos, Reyes, Garcia, Mendoza, Bautista, Villanueva, Ramos, Aquino, Castillo, "
                "Navarro"
            ),
            None,
            _places("""
                Makati | Metro Manila | 1209 | Bel-Air
                Quezon City | Metro Manila | 1109 | Cubao
                Pasig | Metro Manila | 1600 | Kapitolyo
                Taguig | Metro Manila | 1634 | Fort Bonifacio
                Cebu City | Cebu | 6000 | Lahug
                Davao City | Davao del Sur | 8000 | Poblacion
                Iloilo City | Iloilo | 5000 | Jaro
            """),
            _ph_street,
            _words("+63 917 ### ####, +63 918 ### ####, +63 905 ### ####, +63 995 ### ####, +63 2 8### ####"),
            _words("gmail.com, yahoo.com, yahoo.com.ph"),
        ),
        _Country(
            "VN",
            _names(
                "Văn An:vanan, Thị Lan:thilan, Minh Tuấn:minhtuan, Thu Hà:thuha, Quốc Bảo:quocbao, "
                "Ngọc Anh:ngocanh, Đức Huy:duchuy, Thanh Hương:thanhhuong, Hoàng Nam:hoangnam"
            ),
            _names(
                "Nguyễn:nguyen, Trần:tran, Lê:le, Phạm:pham, Hoàng:hoang, Huỳnh:huynh, Võ:vo, Đặng:dang, "
                "Bùi:bui"
            ),
            " ",
            _places("""
                Quận 1 | TP. Hồ Chí Minh | 7000## | Phường Bến Nghé
                Quận 3 | TP. Hồ Chí Minh | 7000## | Phường Võ Thị Sáu
                Quận Bình Thạnh | TP. Hồ Chí Minh | 717## | Phường 25
                Quận Hoàn Kiếm | Hà Nội | 1000## | Phường Hàng Bạc
                Quận Cầu Giấy | Hà Nội | 113## | Phường Dịch Vọng
                Quận Hải Châu | Đà Nẵng | 5500## | Phường Thạch Thang
                Quận Ninh Kiều | Cần Thơ | 9000## | Phường Tân An
            """),
            _vn_street,
            _words("+84 90 ### ## ##, +84 98 ### ## ##, +84 91 ### ## ##, +84 33 ### ####, +84 77 ### ####"),
            _words("gmail.com, yahoo.com.vn, outlook.com"),
        ),
        _Country(
            "ID",
            _names("Budi, Siti, Agus, Dewi, Rizky, Putri, Andi, Ayu, Dimas, Nur, Fajar, Indah"),
            _names("Santoso, Wijaya, Saputra, Lestari, Hidayat, Kusuma, Pratama, Rahmawati, Nugroho"),
            None,
            _places("""
                Jakarta Selatan | DKI Jakarta | 121## | Kebayoran Baru
                Jakarta Barat | DKI Jakarta | 115## | Kebon Jeruk
                Bandung | Jawa Barat | 401## | Coblong
                Surabaya | Jawa Timur | 602## | Gubeng
                Yogyakarta | DI Yogyakarta | 552## | Gondokusuman
                Medan | Sumatera Utara | 201## | Medan Baru
                Denpasar | Bali | 802## | Denpasar Selatan
            """),
            _id_street,
            _words("+62 812-####-####, +62 813-####-####, +62 857-####-####, +62 21 #### ####"),
            _words("gmail.com, yahoo.co.id, ymail.com"),
        ),
        _Country(
            "BR",
            _names(
                "João, Maria, Ana, Pedro, Lucas, Juliana, Gabriel, Fernanda, Rafael, Camila, Mateus, Beatriz"
            ),
            _names(
                "Silva, Santos, Oliveira, Souza, Lima, Pereira, Costa, Ferreira, Almeida, Rodrigues, "
                "Carvalho, Gomes"
            ),
            None,
            _places("""
                São Paulo | SP | 01310-### | Bela Vista
                São Paulo | SP | 05422-### | Pinheiros
                Rio de Janeiro | RJ | 22070-### | Copacabana
                Belo Horizonte | MG | 30140-### | Funcionários
                Curitiba | PR | 80240-### | Batel
                Porto Alegre | RS | 90570-### | Moinhos de Vento
                Recife | PE | 51020-### | Boa Viagem
            """),
            _br_street,
            _words("+55 11 9$###-####, +55 21 9$###-####, +55 31 9$###-####, +55 11 3###-####"),
            _words("gmail.com, hotmail.com, uol.com.br, bol.com.br, yahoo.com.br"),
        ),
        _Country(
            "MX",
            _names(
                "José, María, Juan, Guadalupe, Luis, Fernanda, Carlos, Sofía, Miguel, Valeria, Alejandro, "
                "Daniela"
            ),
            _names(
                "Hernández, García, Martínez, López, González, Rodríguez, Pérez, Sánchez, Ramírez, Flores, "
                "Torres, Cruz"
            ),
            None,
            _places("""
                Ciudad de México | CDMX | 06700 | Roma Norte
                Ciudad de México | CDMX | 03100 | Del Valle
                Ciudad de México | CDMX | 06140 | Condesa
                Guadalajara | Jalisco | 44160 | Americana
                Monterrey | Nuevo León | 64000 | Centro
                Puebla | Puebla | 72000 | Centro
                Mérida | Yucatán | 97070 | García Ginerés
            """),
            _mx_street,
            _words("+52 55 #### ####, +52 33 #### ####, +52 81 #### ####, +52 222 ### ####"),
            _words("gmail.com, hotmail.com, outlook.com, yahoo.com.mx, prodigy.net.mx"),
        ),
    )
}


def pick_name(rng: random.Random, country: _Country) -> tuple[tuple[str, str], tuple[str, str]]:
    return (
        country.given[int(rng.random() * len(country.given))],
        country.family[int(rng.random() * len(country.family))],
    )


def pick_place(rng: random.Random, country: _Country) -> Place:
    return country.places[int(rng.random() * len(country.places))]


def email_for(rng: random.Random, country: _Country, given: str, family: str) -> str:
    domain = one_of(rng, country.domains)
    if domain == "qq.com":
        return f"{between(rng, 10_000_000, 3_999_999_999)}@qq.com"
    style = rng.random()
    if style < 0.4:
        local = f"{given}.{family}"
    elif style < 0.7:
        local = f"{given}{family}{between(rng, 1, 99)}"
    else:
        local = f"{given[0]}{family}{between(rng, 1970, 2006)}"
    return f"{local}@{domain}"
