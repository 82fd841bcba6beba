"""Industry catalogues of the demo community: reads nothing, provides brands, products and their local words.

For each industry preset (beauty, 3c, apparel, fmcg, education) a small brand with 6-10 products, the word
people use for each product category in the ten chat languages, a few "is it suitable for ...?" concerns,
and the questionnaire's interest topics. Order amounts are calibrated on CDNOW in US dollars and multiplied
by ``spend_scale`` (CDNOW's median order was about 27 USD, a fair beauty basket; a 3C basket is larger).
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGE_ORDER: tuple[str, ...] = ("en", "id", "ms", "vi", "th", "pt", "es", "ru", "ar", "zh")


@dataclass(frozen=True)
class Category:
    key: str
    topic: str                   # questionnaire interest topic this category belongs to
    words: dict[str, str]        # language -> what people call it in chat


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price_usd: float


@dataclass(frozen=True)
class Concern:
    topic: str                   # questionnaire interest topic ("sensitive skin")
    words: dict[str, str]        # language -> phrase used after "suitable for ..."


@dataclass(frozen=True)
class Industry:
    key: str
    brand: str
    domain: str
    categories: tuple[Category, ...]
    products: tuple[Product, ...]
    concerns: tuple[Concern, ...]
    spend_scale: float
    female_share: float
    median_age: float

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(concern.topic for concern in self.concerns) + tuple(c.topic for c in self.categories)

    def category_index(self, key: str) -> int:
        return [category.key for category in self.categories].index(key)


def _words(text: str) -> dict[str, str]:
    """Ten words separated by '|' in LANGUAGE_ORDER."""
    parts = [part.strip() for part in text.split("|")]
    if len(parts) != len(LANGUAGE_ORDER):
        raise ValueError(f"expected {len(LANGUAGE_ORDER)} words, got {len(parts)}: {text}")
    return dict(zip(LANGUAGE_ORDER, parts, strict=True))


def _category(key: str, topic: str, words: str) -> Category:
    return Category(key, topic, _words(words))


def _concern(topic: str, words: str) -> Concern:
    return Concern(topic, _words(words))


KIDS = ("kids|anak-anak|kanak-kanak|trẻ em|เด็ก|crianças|niños|детей|الأطفال|小孩")

BEAUTY = Industry(
    key="beauty", brand="GlowLab", domain="glowlab.example",
    categories=(
        _category("moisturiser", "moisturising", "moisturiser|pelembap|pelembap|kem dưỡng ẩm|มอยส์เจอไรเซอร์|"
                  "hidratante|crema hidratante|увлажняющий крем|مرطب|保湿霜"),
        _category("sunscreen", "sunscreen", "sunscreen|sunscreen|sunblock|kem chống nắng|ครีมกันแดด|protetor solar|"
                  "protector solar|солнцезащитный крем|واقي الشمس|防晒霜"),
        _category("serum", "serum", "serum|serum|serum|serum|เซรั่ม|sérum|sérum|сыворотка|سيروم|精华"),
        _category("cleanser", "cleansing", "cleanser|sabun cuci muka|pencuci muka|sữa rửa mặt|โฟมล้างหน้า|"
                  "sabonete facial|limpiador facial|пенка для умывания|غسول الوجه|洗面奶"),
        _category("toner", "toner", "toner|toner|toner|nước hoa hồng|โทนเนอร์|tônico|tónico|тоник|تونر|爽肤水"),
        _category("lipstick", "makeup", "lipstick|lipstik|gincu|son|ลิปสติก|batom|labial|помада|أحمر الشفاه|口红"),
        _category("foundation", "makeup", "foundation|foundation|foundation|kem nền|รองพื้น|base|base de maquillaje|"
                  "тональный крем|كريم الأساس|粉底液"),
        _category("acne care", "acne care", "acne gel|obat jerawat|gel jerawat|gel trị mụn|เจลแต้มสิว|gel antiacne|"
                  "gel antiacné|гель от прыщей|جل حب الشباب|祛痘凝胶"),
        _category("brightening", "brightening", "brightening cream|krim pencerah|krim pencerah|kem dưỡng trắng|"
                  "ครีมหน้าใส|creme clareador|crema aclaradora|осветляющий крем|كريم التفتيح|美白霜"),
        _category("anti-aging", "anti-aging", "retinol night cream|krim anti aging|krim anti-penuaan|"
                  "kem chống lão hóa|ครีมลดริ้วรอย|creme anti-idade|crema antiedad|крем от морщин|"
                  "كريم مضاد للتجاعيد|抗衰老面霜"),
    ),
    products=(
        Product("GL-MOI-50", "HydraBoost Moisturiser 50ml", "moisturiser", 19.0),
        Product("GL-SUN-50", "Daily Shield Sunscreen SPF50 PA++++", "sunscreen", 15.0),
        Product("GL-SER-VC", "Vitamin C Glow Serum 30ml", "serum", 24.0),
        Product("GL-CLE-150", "Gentle Amino Foam Cleanser 150ml", "cleanser", 11.0),
        Product("GL-TON-RW", "Rice Water Hydrating Toner", "toner", 13.0),
        Product("GL-LIP-VM", "Velvet Matte Lipstick", "lipstick", 12.0),
        Product("GL-FDN-ST", "Skin Tint Foundation SPF20", "foundation", 22.0),
        Product("GL-ACN-GEL", "Clear Spot Acne Gel 15ml", "acne care", 9.0),
        Product("GL-BRT-TU", "Bright Tone-Up Cream", "brightening", 18.0),
        Product("GL-AGE-RET", "Retinol Night Repair Cream", "anti-aging", 29.0),
    ),
    concerns=(
        _concern("sensitive skin", "sensitive skin|kulit sensitif|kulit sensitif|da nhạy cảm|ผิวแพ้ง่าย|"
                 "pele sensível|piel sensible|чувствительной кожи|البشرة الحساسة|敏感肌"),
        _concern("oily skin", "oily skin|kulit berminyak|kulit berminyak|da dầu|ผิวมัน|pele oleosa|piel grasa|"
                 "жирной кожи|البشرة الدهنية|油皮"),
        _concern("dry skin", "dry skin|kulit kering|kulit kering|da khô|ผิวแห้ง|pele seca|piel seca|сухой кожи|"
                 "البشرة الجافة|干皮"),
        _concern("acne-prone skin", "acne-prone skin|kulit berjerawat|kulit berjerawat|da mụn|ผิวเป็นสิวง่าย|"
                 "pele com acne|piel con acné|проблемной кожи|البشرة المعرضة لحب الشباب|痘痘肌"),
    ),
    spend_scale=1.0, female_share=0.8, median_age=28,
)

ELECTRONICS = Industry(
    key="3c", brand="VoltNest", domain="voltnest.example",
    categories=(
        _category("earbuds", "audio", "earbuds|earbuds|earbuds|tai nghe|หูฟัง|fone de ouvido|audífonos|наушники|"
                  "سماعات|耳机"),
        _category("power bank", "charging", "power bank|powerbank|powerbank|sạc dự phòng|พาวเวอร์แบงค์|"
                  "carregador portátil|batería portátil|пауэрбанк|باور بانك|充电宝"),
        _category("charger", "charging", "charger|charger|pengecas|củ sạc|ที่ชาร์จ|carregador|cargador|зарядка|شاحن|"
                  "充电器"),
        _category("phone case", "accessories", "phone case|casing HP|casing telefon|ốp lưng|เคสมือถือ|capinha|"
                  "funda|чехол|كفر الجوال|手机壳"),
        _category("smartwatch", "wearables", "smartwatch|smartwatch|jam pintar|đồng hồ thông minh|สมาร์ทวอทช์|"
                  "smartwatch|reloj inteligente|смарт-часы|ساعة ذكية|智能手表"),
        _category("cable", "charging", "USB-C cable|kabel USB-C|kabel USB-C|cáp USB-C|สาย USB-C|cabo USB-C|"
                  "cable USB-C|кабель USB-C|كابل USB-C|USB-C数据线"),
        _category("speaker", "audio", "bluetooth speaker|speaker bluetooth|speaker bluetooth|loa bluetooth|"
                  "ลำโพงบลูทูธ|caixa de som bluetooth|bocina bluetooth|колонка|سماعة بلوتوث|蓝牙音箱"),
        _category("keyboard", "gaming", "keyboard|keyboard|papan kekunci|bàn phím|คีย์บอร์ด|teclado|teclado|"
                  "клавиатура|لوحة مفاتيح|键盘"),
    ),
    products=(
        Product("VN-EAR-P2", "AirLoop Pro 2 Earbuds", "earbuds", 59.0),
        Product("VN-PB-20K", "VoltCharge 20000mAh Power Bank", "power bank", 29.0),
        Product("VN-CHG-65", "GaN 65W Fast Charger", "charger", 35.0),
        Product("VN-CASE-M", "MagShield Phone Case", "phone case", 15.0),
        Product("VN-WAT-S3", "Pulse S3 Smartwatch", "smartwatch", 89.0),
        Product("VN-CBL-2M", "Braided USB-C Cable 2m", "cable", 9.0),
        Product("VN-SPK-M", "BoomCube Mini Speaker", "speaker", 39.0),
        Product("VN-KEY-75", "Tactile 75% Mechanical Keyboard", "keyboard", 79.0),
    ),
    concerns=(
        _concern("iPhone", "iPhone|iPhone|iPhone|iPhone|iPhone|iPhone|iPhone|iPhone|iPhone|iPhone"),
        _concern("Android", "Samsung|Samsung|Samsung|Samsung|Samsung|Samsung|Samsung|Samsung|Samsung|Samsung"),
        _concern("laptop", "my laptop|laptop|laptop|laptop|โน้ตบุ๊ก|notebook|laptop|ноутбука|اللابتوب|笔记本电脑"),
    ),
    spend_scale=2.2, female_share=0.35, median_age=29,
)

APPAREL = Industry(
    key="apparel", brand="Threadline", domain="threadline.example",
    categories=(
        _category("t-shirt", "casual wear", "t-shirt|kaos|baju-T|áo thun|เสื้อยืด|camiseta|playera|футболка|تيشيرت|"
                  "T恤"),
        _category("dress", "dresses", "dress|dress|dress|váy|เดรส|vestido|vestido|платье|فستان|连衣裙"),
        _category("jeans", "denim", "jeans|celana jeans|seluar jeans|quần jean|กางเกงยีนส์|calça jeans|jeans|"
                  "джинсы|جينز|牛仔裤"),
        _category("hoodie", "casual wear", "hoodie|hoodie|hoodie|áo hoodie|เสื้อฮู้ด|moletom|sudadera|худи|هودي|"
                  "卫衣"),
        _category("sneakers", "shoes", "sneakers|sepatu sneakers|kasut sneakers|giày sneaker|รองเท้าผ้าใบ|tênis|"
                  "tenis|кроссовки|حذاء رياضي|运动鞋"),
        _category("hijab", "modest wear", "hijab|hijab|tudung|khăn choàng|ฮิญาบ|lenço|pañuelo|платок|حجاب|头巾"),
        _category("jacket", "outerwear", "jacket|jaket|jaket|áo khoác|แจ็คเก็ต|jaqueta|chamarra|куртка|جاكيت|夹克"),
        _category("socks", "basics", "socks|kaos kaki|stokin|tất|ถุงเท้า|meias|calcetines|носки|جوارب|袜子"),
    ),
    products=(
        Product("TL-TEE-OV", "Oversized Cotton Tee", "t-shirt", 14.0),
        Product("TL-DRS-LN", "Linen Midi Dress", "dress", 39.0),
        Product("TL-JNS-ST", "Straight Fit Jeans", "jeans", 35.0),
        Product("TL-HOD-FL", "Fleece Zip Hoodie", "hoodie", 32.0),
        Product("TL-SNK-CL", "Cloudstep Sneakers", "sneakers", 55.0),
        Product("TL-HIJ-VO", "Voile Everyday Hijab", "hijab", 9.0),
        Product("TL-JKT-WB", "Windbreaker Jacket", "jacket", 45.0),
        Product("TL-SCK-3P", "Ankle Socks 3-pack", "socks", 6.0),
    ),
    concerns=(
        _concern("plus size", "plus size|badan besar|saiz besar|người mập|คนอวบ|plus size|talla grande|"
                 "больших размеров|المقاسات الكبيرة|大码"),
        _concern("hot weather", "hot weather|cuaca panas|cuaca panas|trời nóng|อากาศร้อน|calor|clima caluroso|"
                 "жары|الجو الحار|夏天"),
        _concern("office wear", "the office|ke kantor|pejabat|đi làm|ใส่ไปทำงาน|trabalho|la oficina|офиса|الدوام|"
                 "上班"),
    ),
    spend_scale=1.4, female_share=0.6, median_age=27,
)

FMCG = Industry(
    key="fmcg", brand="DailyNest", domain="dailynest.example",
    categories=(
        _category("instant noodles", "quick meals", "instant noodles|mie instan|mi segera|mì gói|"
                  "บะหมี่กึ่งสำเร็จรูป|miojo|sopa instantánea|лапша быстрого приготовления|نودلز سريعة|方便面"),
        _category("coffee", "drinks", "coffee|kopi|kopi|cà phê|กาแฟ|café|café|кофе|القهوة|咖啡"),
        _category("snacks", "snacks", "snacks|camilan|snek|bánh snack|ขนม|salgadinhos|botanas|снеки|سناكس|零食"),
        _category("shampoo", "personal care", "shampoo|sampo|syampu|dầu gội|แชมพู|xampu|champú|шампунь|شامبو|洗发水"),
        _category("detergent", "home care", "detergent|deterjen|sabun basuh|nước giặt|ผงซักฟอก|sabão em pó|"
                  "detergente|стиральный порошок|منظف الغسيل|洗衣液"),
        _category("diapers", "baby care", "diapers|popok|lampin|tã|ผ้าอ้อม|fraldas|pañales|подгузники|حفاضات|纸尿裤"),
        _category("tea", "drinks", "tea|teh|teh|trà|ชา|chá|té|чай|الشاي|茶"),
        _category("cooking oil", "pantry", "cooking oil|minyak goreng|minyak masak|dầu ăn|น้ำมันพืช|"
                  "óleo de cozinha|aceite|масло|زيت الطبخ|食用油"),
    ),
    products=(
        Product("DN-NDL-5P", "Spicy Instant Noodles 5-pack", "instant noodles", 4.0),
        Product("DN-COF-3IN1", "3-in-1 Coffee Mix 30 sachets", "coffee", 7.0),
        Product("DN-SNK-MIX", "Seaweed Snack Box", "snacks", 6.0),
        Product("DN-SHP-AH", "Anti-Hairfall Shampoo 400ml", "shampoo", 8.0),
        Product("DN-DET-2L", "Liquid Detergent 2L", "detergent", 9.0),
        Product("DN-DPR-M", "Soft Diapers M 60pcs", "diapers", 16.0),
        Product("DN-TEA-GR", "Jasmine Green Tea 50 bags", "tea", 5.0),
        Product("DN-OIL-2L", "Sunflower Cooking Oil 2L", "cooking oil", 6.0),
    ),
    concerns=(
        _concern("kids", KIDS),
        _concern("diabetics", "diabetics|penderita diabetes|pesakit diabetes|người tiểu đường|คนเป็นเบาหวาน|"
                 "diabéticos|diabéticos|диабетиков|مرضى السكري|糖尿病人"),
        _concern("vegetarian", "vegetarians|vegetarian|vegetarian|người ăn chay|คนกินมังสวิรัติ|vegetarianos|"
                 "vegetarianos|вегетарианцев|النباتيين|素食者"),
    ),
    spend_scale=0.8, female_share=0.65, median_age=33,
)

EDUCATION = Industry(
    key="education", brand="SkillPath", domain="skillpath.example",
    categories=(
        _category("english course", "languages", "English course|kursus bahasa Inggris|kursus bahasa Inggeris|"
                  "khóa tiếng Anh|คอร์สภาษาอังกฤษ|curso de inglês|curso de inglés|курс английского|"
                  "دورة اللغة الإنجليزية|英语课"),
        _category("coding bootcamp", "programming", "coding bootcamp|bootcamp coding|bootcamp koding|"
                  "khóa lập trình|คอร์สเขียนโปรแกรม|bootcamp de programação|bootcamp de programación|"
                  "курс программирования|معسكر البرمجة|编程训练营"),
        _category("ielts prep", "test prep", "IELTS prep|kelas IELTS|kelas IELTS|khóa luyện IELTS|คอร์ส IELTS|"
                  "preparatório IELTS|preparación IELTS|подготовка к IELTS|تحضير الآيلتس|雅思课"),
        _category("math tutoring", "school subjects", "math tutoring|les matematika|tuisyen matematik|gia sư toán|"
                  "ติวคณิต|aula de matemática|clases de matemáticas|репетитор по математике|دروس الرياضيات|数学辅导"),
        _category("data science course", "data", "data science course|kelas data science|kursus sains data|"
                  "khóa data science|คอร์ส data science|curso de ciência de dados|curso de ciencia de datos|"
                  "курс по data science|دورة علم البيانات|数据科学课程"),
        _category("design course", "design", "UI design course|kelas desain UI|kursus reka bentuk UI|"
                  "khóa thiết kế UI|คอร์สออกแบบ UI|curso de design UI|curso de diseño UI|курс UI-дизайна|"
                  "دورة تصميم الواجهات|UI设计课"),
    ),
    products=(
        Product("SP-ENG-B1", "English Conversation B1 (8 weeks)", "english course", 79.0),
        Product("SP-COD-PY", "Python Coding Bootcamp", "coding bootcamp", 199.0),
        Product("SP-IELTS-7", "IELTS Band 7 Intensive", "ielts prep", 129.0),
        Product("SP-MTH-HS", "High-School Math Tutoring (10 sessions)", "math tutoring", 99.0),
        Product("SP-DS-101", "Data Science Foundations", "data science course", 149.0),
        Product("SP-UI-101", "UI Design Starter", "design course", 119.0),
    ),
    concerns=(
        _concern("beginners", "beginners|pemula|pemula|người mới bắt đầu|มือใหม่|iniciantes|principiantes|"
                 "новичков|المبتدئين|零基础"),
        _concern("working adults", "working adults|karyawan|orang bekerja|người đi làm|คนทำงาน|quem trabalha|"
                 "gente que trabaja|работающих|الموظفين|上班族"),
        _concern("kids", KIDS),
    ),
    spend_scale=4.0, female_share=0.55, median_age=26,
)

INDUSTRY_CATALOGUES: dict[str, Industry] = {
    industry.key: industry for industry in (BEAUTY, ELECTRONICS, APPAREL, FMCG, EDUCATION)
}
