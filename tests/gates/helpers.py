"""Helpers for the filter tests: rows in several languages built on moud_core.schema.example_row."""

from __future__ import annotations

import random

from moud_core.schema import example_row, split_group_for

TEXTS = {
    "fr": [
        "Salut ! Tu viens souvent à ce marché le samedi matin ?",
        "Oui, presque tous les week-ends, j'adore les fromages du coin.",
        "Moi aussi, surtout le comté. Tu habites dans le quartier ?",
        "Non, j'habite à Villeurbanne mais je viens en vélo, c'est rapide.",
        "Super, moi je suis boulanger, alors je me lève très tôt.",
        "Ça doit être dur ! Tu commences à quelle heure le matin ?",
    ],
    "ja": [
        "こんにちは！週末はいつも何をしていますか？",
        "たいてい犬と一緒に公園を散歩しています。",
        "いいですね。どんな犬を飼っているんですか？",
        "柴犬です。とても元気で、毎朝早く起こされます。",
        "私は猫派ですが、柴犬はかわいいと思います。",
        "ありがとう。あなたの猫の名前は何ですか？",
    ],
    "ko": [
        "안녕하세요! 주말에는 보통 뭐 하세요?",
        "저는 보통 강아지랑 공원에서 산책해요.",
        "좋네요. 어떤 강아지를 키우세요?",
        "진돗개예요. 아주 활발해서 매일 아침 일찍 깨워요.",
        "저는 고양이를 좋아하지만 진돗개도 정말 귀여워요.",
        "고마워요. 고양이 이름이 뭐예요?",
    ],
    "zh": [
        "你好！你周末一般都做些什么呢？",
        "我通常和我的狗一起去公园散步。",
        "真不错。你养的是什么品种的狗？",
        "是一只柴犬，它每天早上都很早就把我叫醒。",
        "我更喜欢猫，不过柴犬也很可爱。",
        "谢谢！你的猫叫什么名字呀？",
    ],
    "ru": [
        "Привет! Что ты обычно делаешь по выходным?",
        "Обычно гуляю с собакой в парке у дома.",
        "Здорово. А какая у тебя собака?",
        "Это сиба-ину, она будит меня каждое утро очень рано.",
        "Я больше люблю кошек, но сиба-ину очень милые.",
        "Спасибо! А как зовут твою кошку?",
    ],
    "id": [
        "Halo! Apa yang biasanya kamu lakukan di akhir pekan?",
        "Biasanya saya berjalan-jalan dengan anjing saya di taman dekat rumah.",
        "Wah, menyenangkan sekali. Anjing kamu jenis apa?",
        "Anjing saya seekor shiba, dia selalu membangunkan saya pagi-pagi.",
        "Saya lebih suka kucing, tetapi shiba memang sangat lucu.",
        "Terima kasih! Siapa nama kucing kamu?",
    ],
    "it": [
        "Ciao! Cosa fai di solito nel fine settimana?",
        "Di solito porto il mio cane a passeggio nel parco vicino a casa.",
        "Che bello. Che razza di cane hai?",
        "È uno shiba, mi sveglia ogni mattina molto presto.",
        "Io preferisco i gatti, ma gli shiba sono davvero carini.",
        "Grazie! Come si chiama il tuo gatto?",
    ],
}
PERSONAS = {
    "fr": ["Je suis boulanger à Lyon.", "J'adore le vélo."],
    "ja": ["私は柴犬を飼っています。", "週末は公園を散歩します。"],
    "ko": ["저는 진돗개를 키워요.", "주말에는 공원에서 산책해요."],
    "zh": ["我养了一只柴犬。", "我周末喜欢去公园散步。"],
    "ru": ["Я живу в Казани.", "У меня есть собака."],
    "id": ["Saya tinggal di Bandung.", "Saya punya seekor anjing."],
    "it": ["Vivo a Bologna.", "Ho un cane di nome Leo."],
}
PERSONAS_B = {  # another person than PERSONAS (the persona_twin gate drops a persona B that repeats A)
    "fr": ["Je suis étudiante à Lille.", "J'ai un chat qui s'appelle Moka."],
    "ja": ["私は東京の大学で勉強しています。", "猫を一匹飼っています。"],
    "ko": ["저는 서울에서 대학교에 다녀요.", "고양이 한 마리를 키우고 있어요."],
    "zh": ["我是北京的一名大学生。", "我家里有一只白色的猫。"],
    "ru": ["Я учусь в университете в Москве.", "У меня живёт белая кошка."],
    "id": ["Saya kuliah di Yogyakarta.", "Saya memelihara seekor kucing putih."],
    "it": ["Studio all'università di Torino.", "Ho una gatta bianca che si chiama Neve."],
}
COMMON_GROUND = {
    "fr": "Deux voisins se croisent au marché un samedi matin.",
    "ja": "二人の隣人が公園で出会う。",
    "ko": "두 이웃이 공원에서 만난다.",
    "zh": "两个邻居在公园里相遇。",
    "ru": "Два соседа встречаются в парке.",
    "id": "Dua tetangga bertemu di taman pada hari Sabtu pagi.",
    "it": "Due vicini si incontrano al parco un sabato mattina.",
}


def make_row(lang: str = "fr", texts: list[str] | None = None, index: int = 0) -> dict:
    texts = texts or TEXTS[lang]
    row = example_row(lang, index, [("AB"[i % 2], t) for i, t in enumerate(texts)])
    persona = PERSONAS.get(lang, row["persona_a"])
    persona_b = PERSONAS_B.get(lang, row["persona_b"])
    row.update(
        persona_a=list(persona),
        persona_b=list(persona_b),
        common_ground=COMMON_GROUND.get(lang, ""),
        split_group=split_group_for(lang, persona, persona_b),
    )
    return row


def with_turn(row: dict, i: int, text: str) -> dict:
    import copy

    new = copy.deepcopy(row)
    new["turns"][i]["text"] = text
    return new


EDGE_CASES = [
    "",
    " ",
    "l'homme qu’il a vu",
    "rock'n'roll",
    "a''b ’x’ 'quoted'",
    "e\u0301te\u0301 cafe\u0301",
    "\u0301abc",
    "ﬁnancé ＡＢＣ ｶﾀｶﾅ ㍻",
    "Straße İstanbul ſ K",
    "I love 🐶 and 🍣!",
    "𠀀𠀁 漢字 𝐀𝐁",
    "ภาษาไทย ดีมาก",
    "नमस्ते दुनिया",
    "我有一只叫biggie smalls的猫。",
    "snapchatとは何ですか？",
    "안녕하세요 123 ４５６",
    "\ud800 lone surrogate",
    "مرحبا بالعالم",
    "Привет, мир",
    "tab\tnew\nline\u3000ideographic\xa0nbsp",
    "x" * 200,
]


def random_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    pool = [
        chr(c)
        for c in [
            *range(0x20, 0x250),
            *range(0x300, 0x370),
            *range(0x400, 0x460),
            *range(0x900, 0x960),
            *range(0xE00, 0xE60),
            *range(0x3040, 0x3100),
            *range(0x4E00, 0x4E40),
            *range(0xAC00, 0xAC40),
            0x1F600,
            0x200D,
            0xFE0F,
            0x3000,
            0xA0,
            0x2019,
            0xFF21,
            0x1D400,
            0x20000,
            0x2160,
            0x345,
        ]
    ] + ["'", "’", " "] * 30
    return ["".join(rng.choice(pool) for _ in range(rng.randint(0, 30))) for _ in range(n)]
