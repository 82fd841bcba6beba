"""Regions of the demo community: reads nothing, provides each region's language, clock, money, phones and names.

Each ``Region`` says what the generator needs to make a plausible person there: the language they mostly
write in, the UTC offset of their evening, the currency of their orders, how their mobile numbers look,
a few cities and e-mail domains, and the name list they draw from. Name entries are pairs
``(latin, native)``: the CRM keeps the Latin spelling, a Telegram display name often uses the native one
(Cyrillic, Thai, Arabic, Chinese characters, Vietnamese diacritics).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

Name = tuple[str, str]  # (latin spelling, native spelling)


@dataclass(frozen=True)
class NameList:
    female: tuple[Name, ...]
    male: tuple[Name, ...]
    last: tuple[Name, ...]
    family_first_native: bool = False   # Chinese: 王晓燕, no space, family name first
    female_last_suffix: str = ""        # Russian: Ivanov -> Ivanova
    single_name_share: float = 0.0      # Indonesians often have one name only


@dataclass(frozen=True)
class Region:
    code: str                    # ISO 3166-1 alpha-2
    language: str                # the language most people there write in
    utc_offset_hours: float      # clock used for "local evening"
    currency: str
    calling_code: str
    mobile_prefixes: tuple[str, ...]
    subscriber_digits: int       # digits after the prefix in the national significant number
    cities: tuple[str, ...]
    email_domains: tuple[str, ...]
    names: str                   # key of NAME_LISTS
    weight: float                # share of community members from this region


def _pairs(text: str) -> tuple[Name, ...]:
    """``"Anastasia=Анастасия, Olga=Ольга"`` -> pairs; a name without '=' is the same in both scripts."""
    pairs: list[Name] = []
    for item in text.split(","):
        latin, _, native = item.strip().partition("=")
        pairs.append((latin, native or latin))
    return tuple(pairs)


def _same(text: str) -> tuple[Name, ...]:
    return tuple((name.strip(), name.strip()) for name in text.split(","))


NAME_LISTS: dict[str, NameList] = {
    "id": NameList(
        female=_same("Siti, Dewi, Putri, Ayu, Rina, Wulan, Indah, Fitri, Nur, Ratna, Sri, Mega, Anisa, Dian"),
        male=_same("Budi, Agus, Andi, Rizky, Dedi, Eko, Hendra, Fajar, Arif, Bayu"),
        last=_same("Santoso, Wijaya, Saputra, Lestari, Pratama, Hidayat, Kusuma, Nugroho, Rahayu, Setiawan, "
                   "Susanti, Handayani"),
        single_name_share=0.15),
    "ms": NameList(
        female=_same("Nurul, Siti, Aisyah, Farah, Aina, Syafiqah, Mei Ling, Kavitha, Hui Min, Nabila"),
        male=_same("Ahmad, Muhammad, Amir, Hafiz, Wei Jie, Arjun, Faiz, Irfan"),
        last=_same("Abdullah, Ismail, Rahman, Hassan, Lim, Tan, Wong, Ng, Ibrahim, Othman, Subramaniam, Yusof")),
    "vi": NameList(
        female=_pairs("Linh, Trang, Huong=Hương, Thao=Thảo, Ngoc=Ngọc, Mai, Lan, Anh, Hoa, Phuong=Phương, Thu, "
                      "Yen=Yến"),
        male=_pairs("Minh, Huy, Duc=Đức, Tuan=Tuấn, Nam, Khoa, Long, Quang, Hieu=Hiếu, Dung=Dũng"),
        last=_pairs("Nguyen=Nguyễn, Tran=Trần, Le=Lê, Pham=Phạm, Hoang=Hoàng, Vu=Vũ, Dang=Đặng, Bui=Bùi, Do=Đỗ, "
                    "Ngo=Ngô")),
    "th": NameList(
        female=_pairs("Siriporn=ศิริพร, Kanya=กัญญา, Nattaya=ณัฐญา, Pimchanok=พิมพ์ชนก, Suda=สุดา, Ploy=พลอย, "
                      "Malee=มาลี, Ratchanee=รัชนี, Waraporn=วราภรณ์"),
        male=_pairs("Somchai=สมชาย, Anan=อนันต์, Kittisak=กิตติศักดิ์, Nattapong=ณัฐพงศ์, Thanawat=ธนวัฒน์, "
                    "Prasert=ประเสริฐ, Wichai=วิชัย, Chaiwat=ชัยวัฒน์"),
        last=_pairs("Saetang=แซ่ตั้ง, Srisuk=ศรีสุข, Wongsawat=วงศ์สวัสดิ์, Chaiyaporn=ชัยพร, Boonmee=บุญมี, "
                    "Rattanakorn=รัตนากร, Sukprasert=สุขประเสริฐ, Thongchai=ธงชัย, Kaewkham=แก้วคำ, "
                    "Phromma=พรหมมา")),
    "pt": NameList(
        female=_same("Ana, Juliana, Mariana, Camila, Beatriz, Larissa, Fernanda, Gabriela, Letícia, Patrícia, "
                     "Bruna, Amanda"),
        male=_same("João, Lucas, Gabriel, Pedro, Rafael, Felipe, Gustavo, Matheus, Thiago, Bruno"),
        last=_same("Silva, Santos, Oliveira, Souza, Rodrigues, Ferreira, Alves, Pereira, Lima, Gomes, Costa, "
                   "Ribeiro")),
    "es": NameList(
        female=_same("María, Guadalupe, Sofía, Valentina, Lucía, Carmen, Isabella, Daniela, Paula, Elena, "
                     "Ximena, Andrea"),
        male=_same("José, Juan, Luis, Carlos, Miguel, Alejandro, Javier, Diego, Pablo, Sergio"),
        last=_same("García, Hernández, López, Martínez, González, Rodríguez, Pérez, Sánchez, Ramírez, Torres, "
                   "Flores, Fernández")),
    "ru": NameList(
        female=_pairs("Anastasia=Анастасия, Ekaterina=Екатерина, Maria=Мария, Olga=Ольга, Elena=Елена, "
                      "Daria=Дарья, Polina=Полина, Irina=Ирина, Natalia=Наталья, Yulia=Юлия, Ksenia=Ксения, "
                      "Alina=Алина"),
        male=_pairs("Alexander=Александр, Dmitry=Дмитрий, Sergey=Сергей, Ivan=Иван, Maxim=Максим, "
                    "Andrey=Андрей, Mikhail=Михаил, Nikita=Никита, Artem=Артём, Pavel=Павел"),
        last=_pairs("Ivanov=Иванов, Smirnov=Смирнов, Kuznetsov=Кузнецов, Popov=Попов, Vasiliev=Васильев, "
                    "Petrov=Петров, Sokolov=Соколов, Mikhailov=Михайлов, Novikov=Новиков, Fedorov=Федоров, "
                    "Morozov=Морозов, Volkov=Волков"),
        female_last_suffix="a"),
    "ar": NameList(
        female=_pairs("Fatima=فاطمة, Aisha=عائشة, Mariam=مريم, Noura=نورة, Sara=سارة, Layla=ليلى, Huda=هدى, "
                      "Reem=ريم, Amal=أمل, Hessa=حصة"),
        male=_pairs("Mohammed=محمد, Ahmed=أحمد, Abdullah=عبدالله, Khalid=خالد, Omar=عمر, Saeed=سعيد, "
                    "Faisal=فيصل, Yousef=يوسف, Hamad=حمد, Sultan=سلطان"),
        last=_pairs("Al Mansoori=المنصوري, Al Qahtani=القحطاني, Al Harbi=الحربي, Al Otaibi=العتيبي, "
                    "Al Shamsi=الشامسي, Al Dosari=الدوسري, Al Zahrani=الزهراني, Al Ghamdi=الغامدي, "
                    "Al Nuaimi=النعيمي, Al Mazrouei=المزروعي")),
    "zh": NameList(
        female=_pairs("Xiaoyan=晓燕, Jing=静, Li=丽, Min=敏, Yan=艳, Fang=芳, Ting=婷, Xin=欣, Yue=悦, Hui=慧"),
        male=_pairs("Wei=伟, Hao=浩, Jun=军, Lei=磊, Yang=洋, Jie=杰, Tao=涛, Ming=明, Qiang=强, Bo=波"),
        last=_pairs("Wang=王, Li=李, Zhang=张, Liu=刘, Chen=陈, Yang=杨, Huang=黄, Zhao=赵, Wu=吴, Zhou=周, "
                    "Lin=林"),
        family_first_native=True),
    "en": NameList(
        female=_same("Emily, Jessica, Sarah, Ashley, Olivia, Emma, Sophie, Hannah, Chloe, Megan, Lauren, Grace"),
        male=_same("James, Michael, David, Daniel, Matthew, Ryan, Thomas, Jack, Oliver, Chris"),
        last=_same("Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Taylor, Clarke, Walker, "
                   "Hughes")),
    "ph": NameList(
        female=_same("Maria, Kristine, Angelica, Jasmine, Princess, Mary Joy, Camille, Patricia, Andrea, Nicole"),
        male=_same("John Paul, Mark, Christian, Jerome, Carlo, Joshua, Miguel, Ramon"),
        last=_same("Santos, Reyes, Cruz, Bautista, Garcia, Mendoza, Dela Cruz, Villanueva, Ramos, Aquino, "
                   "Castillo, Flores")),
    "in": NameList(
        female=_same("Priya, Ananya, Pooja, Sneha, Kavya, Neha, Divya, Aishwarya, Riya, Meera"),
        male=_same("Rahul, Arjun, Vikram, Rohan, Amit, Karthik, Sanjay, Aditya"),
        last=_same("Sharma, Patel, Singh, Reddy, Iyer, Nair, Gupta, Kumar, Mehta, Rao, Das, Joshi")),
    "ng": NameList(
        female=_same("Chioma, Ngozi, Aisha, Funmilayo, Adaeze, Blessing, Amaka, Yetunde, Zainab, Temitope"),
        male=_same("Chinedu, Emeka, Tunde, Ibrahim, Oluwaseun, Segun, Uche, Musa"),
        last=_same("Okafor, Adeyemi, Okonkwo, Bello, Eze, Ogunleye, Nwosu, Abubakar, Balogun, Obi, Afolabi, Umeh")),
}

# Other ways the same name is spelled: a CRM clerk's transliteration of what the person typed in Telegram.
ALTERNATIVE_SPELLINGS: dict[str, str] = {
    "Alexander": "Aleksandr", "Dmitry": "Dmitriy", "Sergey": "Sergei", "Andrey": "Andrei", "Natalia": "Natalya",
    "Yulia": "Julia", "Ksenia": "Kseniya", "Daria": "Darya", "Artem": "Artyom", "Vasiliev": "Vasilyev",
    "Fedorov": "Fyodorov", "Mohammed": "Muhammad", "Yousef": "Yusuf", "Aisha": "Aysha", "Noura": "Nora",
    "Al Mansoori": "Almansoori", "Al Qahtani": "Alqahtani", "Al Harbi": "Alharbi", "Khalid": "Khaled",
    "Nguyen": "Nguyễn", "Tran": "Trần", "Pham": "Phạm", "Xiaoyan": "Xiao Yan", "Muhammad": "Muhamad",
    "Rizky": "Rizki", "Fitri": "Fitriani", "Putri": "Putry", "Syafiqah": "Syafikah", "Aisyah": "Aishah",
    "Siriporn": "Siriporn", "Nattaya": "Natthaya", "Somchai": "Somchay", "Chioma": "Chiamaka",
    "Oluwaseun": "Seun", "Guadalupe": "Lupe", "José": "Jose", "María": "Maria", "João": "Joao",
    "Letícia": "Leticia", "Patrícia": "Patricia", "Priya": "Pria", "Aishwarya": "Aishwariya",
}

REGIONS: tuple[Region, ...] = (
    Region("ID", "id", 7, "IDR", "62", ("811", "812", "813", "821", "822", "852", "853", "857", "858", "877",
                                         "878", "895", "896"), 8,
           ("Jakarta", "Surabaya", "Bandung", "Medan", "Yogyakarta"),
           ("gmail.com", "yahoo.co.id", "yahoo.com", "hotmail.com"), "id", 0.22),
    Region("MY", "ms", 8, "MYR", "60", ("12", "13", "16", "17", "19"), 7,
           ("Kuala Lumpur", "Petaling Jaya", "Johor Bahru", "Penang", "Shah Alam"),
           ("gmail.com", "yahoo.com", "hotmail.com"), "ms", 0.08),
    Region("VN", "vi", 7, "VND", "84", ("90", "91", "93", "94", "96", "97", "98", "32", "35", "70", "77", "86"), 7,
           ("Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ"),
           ("gmail.com", "yahoo.com", "outlook.com"), "vi", 0.08),
    Region("TH", "th", 7, "THB", "66", ("81", "82", "86", "89", "91", "92", "95", "61", "62", "63"), 7,
           ("Bangkok", "Chiang Mai", "Phuket", "Khon Kaen", "Pattaya"),
           ("gmail.com", "hotmail.com", "yahoo.com"), "th", 0.07),
    Region("PH", "en", 8, "PHP", "63", ("905", "906", "915", "917", "918", "919", "920", "927", "928"), 7,
           ("Manila", "Quezon City", "Cebu City", "Davao City", "Makati"),
           ("gmail.com", "yahoo.com", "outlook.com"), "ph", 0.07),
    Region("SG", "zh", 8, "SGD", "65", ("81", "82", "83", "85", "87", "88", "90", "91", "93", "96", "97", "98"), 6,
           ("Singapore",), ("gmail.com", "hotmail.com", "outlook.com"), "zh", 0.04),
    Region("CN", "zh", 8, "CNY", "86", ("138", "139", "136", "158", "159", "186", "188", "177", "135"), 8,
           ("上海", "北京", "广州", "深圳", "杭州"), ("qq.com", "163.com", "126.com", "gmail.com"), "zh", 0.04),
    Region("BR", "pt", -3, "BRL", "55", ("119", "219", "319", "419", "519", "619", "719", "819", "859"), 8,
           ("São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba", "Salvador"),
           ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.br"), "pt", 0.07),
    Region("MX", "es", -6, "MXN", "52", ("55", "33", "81"), 8,
           ("Ciudad de México", "Guadalajara", "Monterrey", "Puebla"),
           ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.mx"), "es", 0.04),
    Region("ES", "es", 1, "EUR", "34", ("6",), 8,
           ("Madrid", "Barcelona", "Valencia", "Sevilla", "Málaga"),
           ("gmail.com", "hotmail.es", "yahoo.es", "outlook.es"), "es", 0.03),
    Region("RU", "ru", 3, "RUB", "7", ("916", "915", "903", "905", "926", "985", "911", "921"), 7,
           ("Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург"),
           ("mail.ru", "yandex.ru", "gmail.com", "bk.ru"), "ru", 0.06),
    Region("AE", "ar", 4, "AED", "971", ("50", "52", "54", "55", "56", "58"), 7,
           ("Dubai", "Abu Dhabi", "Sharjah"), ("gmail.com", "hotmail.com", "outlook.com"), "ar", 0.03),
    Region("SA", "ar", 3, "SAR", "966", ("50", "53", "54", "55", "56", "59"), 7,
           ("Riyadh", "Jeddah", "Dammam", "Mecca"), ("gmail.com", "hotmail.com", "outlook.sa"), "ar", 0.03),
    Region("US", "en", -5, "USD", "1", ("212", "213", "312", "415", "617", "646", "305", "512", "206", "404"), 7,
           ("New York", "Los Angeles", "Chicago", "San Francisco", "Miami"),
           ("gmail.com", "yahoo.com", "outlook.com", "icloud.com"), "en", 0.06),
    Region("GB", "en", 0, "GBP", "44", ("74", "75", "77", "78", "79"), 8,
           ("London", "Manchester", "Birmingham", "Leeds", "Glasgow"),
           ("gmail.com", "hotmail.co.uk", "outlook.com", "icloud.com"), "en", 0.03),
    Region("IN", "en", 5.5, "INR", "91", ("98", "99", "97", "96", "90", "88", "70", "81"), 8,
           ("Mumbai", "Delhi", "Bengaluru", "Chennai", "Hyderabad"),
           ("gmail.com", "yahoo.co.in", "rediffmail.com", "outlook.com"), "in", 0.03),
    Region("NG", "en", 1, "NGN", "234", ("803", "806", "813", "816", "703", "706", "903", "905", "810"), 7,
           ("Lagos", "Abuja", "Port Harcourt", "Ibadan", "Kano"),
           ("gmail.com", "yahoo.com", "outlook.com"), "ng", 0.02),
)

REGION_CODES: tuple[str, ...] = tuple(region.code for region in REGIONS)
LANGUAGES: tuple[str, ...] = ("en", "id", "ms", "vi", "th", "pt", "es", "ru", "ar", "zh")

# Local hour-of-day weights (0..23): quiet nights, a lunch bump, most chatting in the evening.
LOCAL_HOUR_WEIGHTS: tuple[float, ...] = (
    0.8, 0.4, 0.2, 0.1, 0.1, 0.2, 0.5, 1.0, 1.4, 1.6, 1.7, 1.9,
    2.4, 2.2, 1.8, 1.7, 1.8, 2.1, 2.8, 4.2, 5.4, 5.6, 4.3, 2.2,
)


def ascii_fold(text: str) -> str:
    """Latin letters without diacritics ('João' -> 'Joao'); what people type into e-mail addresses."""
    decomposed = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))
