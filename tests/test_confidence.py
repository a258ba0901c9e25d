"""The low-confidence rule: names the passages never mention, the dense threshold (lower across languages),
keyword coverage without a dense signal."""

from __future__ import annotations

from answer_helpers import DENSENET_CHUNK, GRADIENT_CHUNK, RESNET_CHUNK, chunk, densenet_hits, hit, query

from bookqa.answering.calibration import Calibration
from bookqa.answering.confidence import assess
from bookqa.types import Language

CUTS = Calibration.fixed(0.88, shift=0.09)


def test_no_hits_is_low_confidence() -> None:
    verdict = assess(query("什么是 DenseNet 模型"), [], CUTS)
    assert verdict.low and verdict.reason == "nothing was retrieved"


def test_a_high_dense_similarity_on_passages_naming_the_topic_is_support() -> None:
    verdict = assess(query("稠密块由什么组成"), densenet_hits(), CUTS)
    assert not verdict.low and verdict.top_dense == 0.91 and verdict.coverage == 1.0
    assert verdict.reason == "dense similarity 0.910 >= 0.880"
    named = assess(query("什么是 DenseNet 模型"), densenet_hits(), CUTS)
    assert not named.low and named.reason == "the book has a section on densenet"


def test_a_name_the_passages_never_mention_is_low_confidence_however_similar() -> None:
    hits = [hit(DENSENET_CHUNK, 1, dense=0.902, keyword=5.0)]
    verdict = assess(query("LoRA 微调大模型的原理是什么？"), hits, CUTS)
    assert verdict.low and verdict.reason == "the passages never mention lora"


def test_a_name_the_book_uses_widely_is_not_a_topic_it_lacks() -> None:
    hits = [hit(DENSENET_CHUNK, 1, dense=0.911, keyword=5.0)]
    question = query("训练到一半想手动改PyTorch优化器的学习率，代码怎么写？")
    widely = assess(question, hits, CUTS, mentions=lambda word: 30)
    assert not widely.low and widely.reason == "dense similarity 0.911 >= 0.880"
    rarely = assess(question, hits, CUTS, mentions=lambda word: 2)
    assert rarely.low and rarely.reason == "the passages never mention pytorch"


def test_a_section_named_after_the_questions_name_is_support_however_low_the_similarity() -> None:
    gru = chunk("00300", "门控循环单元与普通的循环神经网络之间的关键区别在于：前者支持隐状态的门控。", 317, 317,
                ("9 现代循环神经网络", "9.1 门控循环单元（GRU）"), "9.1")
    verdict = assess(query("GRU是什么"), [hit(gru, 1, dense=0.871, keyword=6.0)], CUTS)
    assert not verdict.low and verdict.reason == "the book has a section on gru"
    ungated = assess(query("GRUB是什么"), [hit(gru, 1, dense=0.871)], CUTS, mentions=lambda word: 0)
    assert ungated.low and ungated.reason == "the passages never mention grub"  # a whole word, not a prefix


def test_an_everyday_question_is_low_confidence() -> None:
    hits = [hit(RESNET_CHUNK, 1, dense=0.861, keyword=3.7)]
    verdict = assess(query("今天北京的天气怎么样？"), hits, CUTS)
    assert verdict.low and verdict.reason == "dense similarity 0.861 < 0.880"


def test_a_passage_holding_every_term_of_a_specific_question_overrules_a_low_similarity() -> None:
    hits = [hit(GRADIENT_CHUNK, 1, dense=0.85, keyword=5.0)]
    held = assess(query("Why does gradient descent move the parameters against the gradient?"), hits, CUTS)
    assert not held.low and held.reason == "dense similarity 0.850 < 0.880, but a passage holds every term"
    partly = assess(query("Why does gradient descent move the parameters of a spline?"), hits, CUTS)
    assert partly.low  # "spline" is in no passage
    short = assess(query("What is a gradient?"), hits, CUTS)
    assert short.low  # one term says too little to overrule the similarity


def test_an_english_question_on_chinese_passages_gets_the_cross_lingual_margin() -> None:
    supported = assess(query("Why are the inputs concatenated along the channels?"), [hit(DENSENET_CHUNK, 1, dense=0.82)], CUTS)
    assert not supported.low and supported.reason == "cross-lingual dense similarity 0.820 >= 0.790"
    unsupported = assess(query("What is the capital of France?"), [hit(DENSENET_CHUNK, 1, dense=0.739)], CUTS)
    assert unsupported.low
    same_language = assess(query("What is the gradient?"), [hit(GRADIENT_CHUNK, 1, dense=0.82)], CUTS)
    assert same_language.low  # English question, English passage: the full threshold


def test_formula_and_code_passages_do_not_make_chinese_passages_english() -> None:
    symbols = "L(w, b) = 1 n n X i=1 l(i)(w, b) ∂L ∂w = X⊤(Xw − y) ŷ = softmax(o) where o = Wx + b exp(oj) sum k exp(ok) "
    formula = chunk("00040", symbols * 5, 80, 80, DENSENET_CHUNK.section_path, kind="formula")  # more Latin words than Han
    hits = [hit(formula, 1, dense=0.82), hit(DENSENET_CHUNK, 2, dense=0.81)]
    verdict = assess(query("Why are the inputs concatenated along the channels?"), hits, CUTS)
    assert not verdict.low and verdict.reason == "cross-lingual dense similarity 0.820 >= 0.790"


def test_a_question_in_the_books_language_takes_the_books_cut_whatever_language_the_hits_are_in() -> None:
    book = Calibration(Language.ZH, 0.88, 0.79, 0.09, (), (), (), (0, 0), "calibrated")
    english_hits = [hit(GRADIENT_CHUNK, 1, dense=0.84)]  # an everyday question whose nearest passages are English
    verdict = assess(query("乒乓球发球有哪些规则？"), english_hits, book)
    assert verdict.low and verdict.reason == "dense similarity 0.840 < 0.880"
    across = assess(query("What are the rules for serving in table tennis?"), english_hits, book)
    assert not across.low and across.reason == "cross-lingual dense similarity 0.840 >= 0.790"


def test_keyword_mode_is_judged_by_keyword_coverage() -> None:
    supported = assess(query("稠密块和过渡层"), [hit(DENSENET_CHUNK, 1, keyword=4.0)], CUTS)
    partly = assess(query("稠密块和过渡层的本质区别与联系"), [hit(DENSENET_CHUNK, 1, keyword=4.0)], CUTS)
    assert not supported.low and supported.top_dense is None and supported.coverage == 1.0
    assert partly.low and partly.coverage == 0.5


def test_hits_without_scores_cannot_be_judged_and_are_not_flagged() -> None:
    assert not assess(query("稠密块"), [hit(DENSENET_CHUNK, 1)], CUTS).low


def test_names_in_an_english_question_are_names_spelt_like_names() -> None:
    named = assess(query("Why does DenseNet concatenate its inputs?"), [hit(DENSENET_CHUNK, 1, dense=0.70)], CUTS)
    assert not named.low and named.reason == "the book has a section on densenet"
    lacking = assess(query("How does XGBoost build its trees?"), [hit(GRADIENT_CHUNK, 1, dense=0.95)], CUTS, lambda word: 0)
    assert lacking.low and lacking.reason == "the passages never mention xgboost"
    plain = assess(query("How does gradient descent work?"), [hit(GRADIENT_CHUNK, 1, dense=0.95)], CUTS, lambda word: 0)
    assert not plain.low  # ordinary words are no names


def test_a_capitalised_word_inside_an_english_question_is_a_proper_name() -> None:
    lacking = assess(query("How does Dijkstra's algorithm find a path?"), [hit(GRADIENT_CHUNK, 1, dense=0.95)], CUTS, lambda word: 0)
    assert lacking.low and lacking.reason == "the passages never mention dijkstra"
    opening = assess(query("Gradient descent: how does it work?"), [hit(GRADIENT_CHUNK, 1, dense=0.95)], CUTS, lambda word: 0)
    assert not opening.low  # a sentence's first word is capitalised whatever it is
    used = assess(query("Where does Kalman appear?"), [hit(GRADIENT_CHUNK, 1, dense=0.95)], CUTS, lambda word: 12)
    assert not used.low  # a name the book uses widely is not a topic it lacks


def test_a_book_without_a_calibrated_cut_flags_nothing_by_similarity() -> None:
    uncalibrated = assess(query("今天北京的天气怎么样？"), [hit(RESNET_CHUNK, 1, dense=0.5)], None)
    assert not uncalibrated.low and "not judged" in uncalibrated.reason
