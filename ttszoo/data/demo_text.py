"""Generated English sentences for the large demo corpus: a seeded template grammar.

``generated_sentences(count)`` writes ``count`` distinct sentences from a word inventory and
about forty templates: statements, questions (wh-, yes/no, tag), exclamations, short replies,
numbers (counts, thousands, decimals, ordinals, percentages), dates, prices, lists, titles
and abbreviations, and long sentences of two to four clauses (up to about 235 characters).

Every number, date, price and abbreviation is written in a form that eSpeak NG reads the same
way ``english_cleaners`` spells it (prices and most years are written in words, because eSpeak
reads ``$3.50`` as "dollar three point five zero" and ``1998`` as "nineteen hundred ninety
eight"), so the spoken audio matches the transcript; ``tests/data/test_demo_text.py`` checks
this on every generated sentence.

Deterministic: the only source of randomness is ``random.Random(seed).random()``, whose
sequence Python guarantees across versions, so the same seed gives the same sentences
everywhere. Sentences whose normalised text equals or contains a held-out sentence (or is
contained in one) are never produced.
"""

import random
import re

from ttszoo.errors import InvalidInputError
from ttszoo.text.cleaners import english_cleaners

DEFAULT_SEED = 2026

NAMES = (
    "Anna", "Oliver", "Mia", "George", "Zoe", "Joshua", "Ruth", "Hugo", "Priya", "Thomas",
    "Chloe", "Victor", "Judith", "Owen", "Beatrice", "Yusuf", "Martha", "Ivan", "Leah",
    "Quentin", "Rosa", "Theo", "Nadia", "Felix", "Grace", "Isaac", "Vera", "Shaun", "Lloyd",
    "Joy", "Roy", "Howard", "Agnes", "Ezra", "Xavier", "Wendy", "Elijah", "Sophie", "Kwame",
    "Ingrid", "Bruno", "Usha", "Douglas", "Fiona", "Jasper", "Nora", "Patrick", "Yvonne",
)  # fmt: skip
SURNAMES = (
    "Brown", "Patel", "Okafor", "Nguyen", "Fisher", "Lawson", "Whitaker", "Jones", "Moreau",
    "Thatcher", "Young", "Hughes", "Zhou", "Garcia", "Koval", "Boyd", "Ashworth", "Bellamy",
    "Quigley", "Chowdhury", "Dunbar", "Everett", "Gallagher", "Mbeki", "Vaughan", "Rourke",
)  # fmt: skip
TITLES = ("Mr.", "Dr.")
CITIES = (
    "Bristol", "Dublin", "Oslo", "Lisbon", "Cairo", "Denver", "Glasgow", "Quebec", "Vienna",
    "Kyoto", "Perth", "Chicago", "Geneva", "Boston", "Madrid", "Nairobi", "Helsinki",
    "Seattle", "Toronto", "Athens", "Warsaw", "Edinburgh", "Santiago", "Zurich", "Memphis",
)  # fmt: skip
THINGS = (
    "lamp", "umbrella", "kettle", "ladder", "window", "bicycle", "jacket", "envelope",
    "mirror", "basket", "violin", "notebook", "pillow", "engine", "treasure chest",
    "telescope", "wheelbarrow", "parcel", "helmet", "compass", "saucepan", "cushion",
    "anchor", "jigsaw puzzle", "sculpture", "vase", "rug", "shovel", "toy boat", "coin",
    "hammer", "thermometer", "microphone", "armchair", "fountain pen", "statue", "garage door",
    "beige curtain", "leather suitcase", "clock", "typewriter", "sewing machine", "oil painting",
    "guitar", "photograph", "birdcage", "teapot", "wardrobe", "bookshelf", "lawnmower",
)  # fmt: skip
PLURALS = (
    "apples", "books", "chairs", "bottles", "eggs", "oranges", "pencils", "stamps", "tickets",
    "boxes", "candles", "shoes", "onions", "cookies", "marbles", "feathers", "photographs",
    "glasses", "toys", "coins", "leaves", "knives", "potatoes", "bricks", "jars", "sheep",
    "envelopes", "bicycles", "windows", "lemons", "buttons", "shells", "maps", "gloves",
    "spoons", "balloons", "televisions", "measuring jugs", "matches", "pebbles",
)  # fmt: skip
ANIMALS = (
    "fox", "owl", "rabbit", "horse", "goat", "pigeon", "squirrel", "hedgehog", "whale",
    "tortoise", "beetle", "giraffe", "penguin", "badger", "mouse", "eagle", "dolphin", "lizard",
    "moth", "oyster", "zebra", "kangaroo", "jellyfish", "otter", "vulture", "cockerel",
)  # fmt: skip
FOODS = (
    "soup", "bread", "cheese", "porridge", "rice", "yoghurt", "pizza", "lemonade", "toast",
    "honey", "mushrooms", "sausages", "apple pie", "noodles", "chocolate", "jam", "butter",
    "cabbage", "peaches", "tea", "coffee", "orange juice", "fish and chips", "garlic bread",
    "strawberries", "cauliflower cheese", "vegetable curry", "boiled eggs", "pancakes",
)  # fmt: skip
JOBS = (
    "plumber", "teacher", "judge", "nurse", "pilot", "farmer", "author", "chef", "engineer",
    "jeweller", "shepherd", "mayor", "lawyer", "sailor", "builder", "zookeeper", "gardener",
    "dentist", "musician", "photographer", "librarian", "firefighter", "carpenter", "vet",
)  # fmt: skip
ADJECTIVES = (
    "old", "shiny", "heavy", "quiet", "enormous", "tiny", "yellow", "crooked", "fragile",
    "smooth", "noisy", "ancient", "beautiful", "broken", "curious", "dusty", "gentle", "huge",
    "itchy", "jolly", "luxurious", "muddy", "narrow", "peculiar", "purple", "rough", "strange",
    "thick", "unusual", "vivid", "wooden", "warm", "golden", "frozen", "brand new", "ugly",
    "expensive", "cheap", "familiar", "delicate", "slippery", "orange", "bright green",
)  # fmt: skip
LOCATIONS = (
    "in the kitchen", "under the bridge", "behind the garage", "near the harbour",
    "at the edge of the forest", "on the roof", "beside the river", "inside the museum",
    "outside the bakery", "by the window", "at the bottom of the garden", "across the valley",
    "in the attic", "next to the church", "on the platform", "in the village square",
    "beneath the old oak tree", "at the top of the hill", "in the hallway", "on the beach",
    "behind the theatre", "in the cellar", "at the bus stop", "by the lighthouse",
    "in the playground", "near the swimming pool", "on the balcony", "in the greenhouse",
)  # fmt: skip
# (base form, past tense) of verbs that take an object.
VERBS = (
    ("find", "found"), ("buy", "bought"), ("paint", "painted"), ("repair", "repaired"),
    ("drop", "dropped"), ("borrow", "borrowed"), ("carry", "carried"), ("measure", "measured"),
    ("wash", "washed"), ("hide", "hid"), ("sell", "sold"), ("notice", "noticed"),
    ("polish", "polished"), ("wrap", "wrapped"), ("deliver", "delivered"), ("lift", "lifted"),
    ("examine", "examined"), ("lose", "lost"), ("order", "ordered"), ("pack", "packed"),
    ("choose", "chose"), ("throw away", "threw away"), ("push", "pushed"), ("bring", "brought"),
    ("weigh", "weighed"), ("destroy", "destroyed"), ("enjoy", "enjoyed"), ("fetch", "fetched"),
)  # fmt: skip
INTRANSITIVE = (
    "laughed", "waited", "shivered", "sang", "whispered", "arrived", "slept", "jumped",
    "smiled", "yawned", "shouted", "danced", "hesitated", "vanished", "sneezed", "listened",
    "wandered off", "froze", "sighed", "cheered", "stumbled", "apologised", "giggled",
    "disappeared", "complained", "nodded", "groaned", "shrugged", "applauded", "panicked",
)  # fmt: skip
ADVERBS = (
    "quietly", "carefully", "suddenly", "happily", "slowly", "eagerly", "nervously", "proudly",
    "gently", "angrily", "reluctantly", "cheerfully", "thoroughly", "immediately", "silently",
    "loudly", "patiently", "awkwardly", "bravely", "politely",
)  # fmt: skip
PAST_TIMES = (
    "yesterday", "this morning", "last Tuesday", "on Friday evening", "after lunch",
    "before sunrise", "last summer", "in the middle of the night", "three weeks ago",
    "on Sunday afternoon", "just before midnight", "a long time ago", "at dawn",
    "during the holidays", "last Thursday", "on Monday", "after the storm", "on Wednesday",
)  # fmt: skip
FUTURE_TIMES = (
    "tomorrow", "next week", "on Saturday", "this evening", "next month", "after dinner",
    "in the spring", "on Thursday morning", "at the weekend", "in an hour",
)  # fmt: skip
REASONS = (
    "because the shops were closed", "because it was raining heavily",
    "although nobody had asked", "so that the children could see", "while the kettle was boiling",
    "before the guests arrived", "after the storm had passed", "even though the road was flooded",
    "since the last bus had already gone", "until the sun went down", "as soon as the bell rang",
    "when the music stopped", "because the old one was broken", "though it was far too late",
    "as the whole town was asleep", "in case the weather changed", "while everyone was watching",
    "because the neighbours had complained", "unless somebody objected",
)  # fmt: skip
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CURRENCIES = (("dollar", "dollars", "cent", "cents"), ("pound", "pounds", "penny", "pence"),
              ("euro", "euros", "cent", "cents"))  # fmt: skip
UNITS = ("kilograms", "metres", "litres", "kilometres", "centimetres", "grams", "miles")
SHORT_REPLIES = (
    "Yes, please.", "No, thank you.", "Not yet.", "Of course!", "Why not?", "Really?",
    "Good morning.", "Good night.", "See you soon.", "Well done!", "Wait for me!", "Come in.",
    "I agree.", "Never mind.", "Excuse me?", "Absolutely not.", "Maybe later.", "Look out!",
    "Thank you.", "Sit down, please.", "Go away!", "Is that all?", "Quite right.", "Hurry up!",
)  # fmt: skip
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
         "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


class _Picker:
    """Choices drawn only from ``random.Random(seed).random()`` (stable across Pythons)."""

    def __init__(self, seed):
        self._random = random.Random(seed).random

    def index(self, size):
        return min(int(self._random() * size), size - 1)

    def pick(self, items):
        return items[self.index(len(items))]

    def integer(self, low, high):
        return low + self.index(high - low + 1)

    def chance(self, probability):
        return self._random() < probability

    def distinct(self, items, count):
        pool = list(items)
        return [pool.pop(self.index(len(pool))) for _ in range(count)]


def _words_below_hundred(number):
    if number < 20:
        return _ONES[number]
    tens, ones = divmod(number, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def _article(phrase):
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _series(items):
    """``a, b and c``."""
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0]


def _year_in_words(number):
    """Years 1900-1999 and 2010-2099 as people say them (eSpeak misreads their digits)."""
    high, low = divmod(number, 100)
    low_words = f"oh {_ONES[low]}" if 0 < low < 10 else _words_below_hundred(low)
    return f"{_words_below_hundred(high)} {'hundred' if low == 0 else low_words}"


def _year(p):
    """A year in a form eSpeak reads as the cleaner spells it."""
    if p.chance(0.25):
        return str(p.integer(2000, 2009))
    return _year_in_words(p.pick((p.integer(1900, 1999), p.integer(2010, 2030))))


def _price(p):
    one, many, sub_one, sub_many = p.pick(CURRENCIES)
    units = p.pick((p.integer(1, 19), p.integer(2, 99)))
    words = f"{_words_below_hundred(units)} {one if units == 1 else many}"
    if p.chance(0.5):
        cents = p.pick((5, 10, 20, 25, 50, 75, 95, 99, p.integer(1, 99)))
        words += f" and {_words_below_hundred(cents)} {sub_one if cents == 1 else sub_many}"
    return words


def _count(p):
    """A count of things written with digits (grouped thousands now and then)."""
    kind = p.index(4)
    if kind == 0:
        return str(p.integer(2, 19))
    if kind == 1:
        return str(p.integer(20, 99))
    if kind == 2:
        return str(p.integer(100, 999))
    return f"{p.integer(1, 99)},{p.integer(0, 999):03d}"


def _ordinal(number):
    suffix = "th" if 10 <= number % 100 < 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _person(p):
    if p.chance(0.2):
        return f"{p.pick(TITLES)} {p.pick(SURNAMES)}"
    return p.pick(NAMES)


def _thing(p):
    return f"{p.pick(ADJECTIVES)} {p.pick(THINGS)}" if p.chance(0.6) else p.pick(THINGS)


def _clause(p):
    """An independent clause in the past tense (no final punctuation)."""
    kind = p.index(5)
    if kind == 0:
        return f"{_person(p)} {p.pick(VERBS)[1]} the {_thing(p)} {p.pick(LOCATIONS)}"
    if kind == 1:
        return f"the {p.pick(ANIMALS)} {p.pick(INTRANSITIVE)} {p.pick(ADVERBS)}"
    if kind == 2:
        return f"the {p.pick(JOBS)} {p.pick(VERBS)[1]} {_count(p)} {p.pick(PLURALS)}"
    if kind == 3:
        return f"{_person(p)} {p.pick(INTRANSITIVE)} {p.pick(PAST_TIMES)}"
    return f"we ate {p.pick(FOODS)} {p.pick(LOCATIONS)} {p.pick(PAST_TIMES)}"


def _capitalised(text):
    return text[0].upper() + text[1:]


# Templates: each takes a picker and returns one sentence.


def _statement(p):
    return f"{_capitalised(_clause(p))}."


def _statement_with_time(p):
    return (
        f"{_capitalised(p.pick(PAST_TIMES))}, {_person(p)} {p.pick(VERBS)[1]} "
        f"the {_thing(p)} {p.pick(LOCATIONS)}."
    )


def _future(p):
    return f"{_person(p)} will {p.pick(VERBS)[0]} the {_thing(p)} {p.pick(FUTURE_TIMES)}."


def _job_statement(p):
    return (
        f"The {p.pick(JOBS)} from {p.pick(CITIES)} {p.pick(INTRANSITIVE)} "
        f"{p.pick(ADVERBS)} {p.pick(REASONS)}."
    )


def _wh_question(p):
    base = p.pick(VERBS)[0]
    return p.pick(
        (
            f"Where did {_person(p)} {base} the {_thing(p)}?",
            f"Why did the {p.pick(JOBS)} {base} the {p.pick(THINGS)} {p.pick(PAST_TIMES)}?",
            f"When will {_person(p)} {base} the {_thing(p)}?",
            f"Who {p.pick(VERBS)[1]} the {_thing(p)} {p.pick(LOCATIONS)}?",
            f"How many {p.pick(PLURALS)} did the {p.pick(JOBS)} {base}?",
            f"Which {p.pick(THINGS)} did {_person(p)} {base}?",
            f"What was the {p.pick(ANIMALS)} doing {p.pick(LOCATIONS)}?",
            f"How long does it take to get from {p.pick(CITIES)} to {p.pick(CITIES)}?",
        )
    )


def _yes_no_question(p):
    return p.pick(
        (
            f"Did {_person(p)} {p.pick(VERBS)[0]} the {_thing(p)} {p.pick(PAST_TIMES)}?",
            f"Is the {_thing(p)} still {p.pick(LOCATIONS)}?",
            f"Have you ever seen {_article(p.pick(ADJECTIVES))} {p.pick(ANIMALS)}?",
            f"Would you like some {p.pick(FOODS)}?",
            f"Can you {p.pick(VERBS)[0]} the {p.pick(THINGS)} before {p.pick(WEEKDAYS)}?",
            f"Are there any {p.pick(PLURALS)} left {p.pick(LOCATIONS)}?",
            f"Was the {p.pick(JOBS)} really born in {p.pick(CITIES)}?",
            f"Shall we meet {p.pick(LOCATIONS)} {p.pick(FUTURE_TIMES)}?",
        )
    )


def _tag_question(p):
    return p.pick(
        (
            f"You {p.pick(VERBS)[1]} the {_thing(p)}, didn't you?",
            f"The {p.pick(ANIMALS)} is {p.pick(LOCATIONS)}, isn't it?",
            f"We can't {p.pick(VERBS)[0]} the {p.pick(THINGS)} now, can we?",
        )
    )


def _exclamation(p):
    return p.pick(
        (
            f"What {_article(p.pick(ADJECTIVES))} {p.pick(THINGS)}!",
            f"Look at that {p.pick(ADJECTIVES)} {p.pick(ANIMALS)}!",
            f"Watch out for the {p.pick(THINGS)}!",
            f"Well done, {p.pick(NAMES)}!",
            f"Don't {p.pick(VERBS)[0]} the {p.pick(THINGS)}!",
            f"Quick, the {p.pick(ANIMALS)} is {p.pick(LOCATIONS)}!",
            f"I can't believe the {p.pick(JOBS)} {p.pick(INTRANSITIVE)}!",
        )
    )


def _short(p):
    return p.pick(
        (
            p.pick(SHORT_REPLIES),
            f"{p.pick(NAMES)} {p.pick(INTRANSITIVE)}.",
            f"Thank you, {p.pick(NAMES)}.",
            f"{p.pick(NAMES)}?",
            f"The {p.pick(THINGS)}, please.",
            f"Hello, {_person(p)}.",
            f"{_capitalised(p.pick(FOODS))} again?",
        )
    )


def _numbers(p):
    return p.pick(
        (
            f"There were {_count(p)} {p.pick(PLURALS)} {p.pick(LOCATIONS)}.",
            f"The {p.pick(THINGS)} weighs {p.integer(1, 99)}.{p.integer(1, 9)} {p.pick(UNITS)}.",
            f"About {p.integer(2, 99)},{p.integer(0, 999):03d} people live in {p.pick(CITIES)}.",
            f"Room {p.integer(2, 999)} is on the {_ordinal(p.integer(1, 40))} floor.",
            f"Prices went up by {p.integer(2, 60)}% in {p.pick(CITIES)}.",
            f"{p.pick(NAMES)} finished {_ordinal(p.integer(1, 99))} out of {p.integer(100, 900)} runners.",
            f"The temperature fell to -{p.integer(1, 30)} degrees {p.pick(PAST_TIMES)}.",
            f"Please add {p.integer(2, 99)} and {p.integer(2, 99)}, then divide by {p.integer(2, 9)}.",
            f"Only {p.integer(2, 95)}% of the {p.pick(PLURALS)} were sold.",
            f"It is {p.integer(2, 999)}.{p.integer(1, 9)} {p.pick(UNITS)} from {p.pick(CITIES)} to {p.pick(CITIES)}.",
        )
    )


def _date(p):
    day = _ordinal(p.integer(1, 31))
    month = p.pick(MONTHS)
    return p.pick(
        (
            f"On the {day} of {month}, {_year(p)}, {_clause(p)}.",
            f"{p.pick(NAMES)} was born on the {day} of {month}.",
            f"The meeting moved from {p.pick(WEEKDAYS)} to {p.pick(WEEKDAYS)}, the {day}.",
            f"Is your birthday on {month} {p.integer(1, 28)}?",
            f"The museum opened in {_year(p)} and closed in {_year(p)}.",
            f"We will leave for {p.pick(CITIES)} on {p.pick(WEEKDAYS)}, the {day} of {month}.",
            f"The {p.pick(THINGS)} was made in {_year(p)}.",
        )
    )


def _price_sentence(p):
    return p.pick(
        (
            f"The {_thing(p)} cost {_price(p)}.",
            f"{_person(p)} paid {_price(p)} for {p.integer(2, 19)} {p.pick(PLURALS)}.",
            f"Tickets to {p.pick(CITIES)} are {_price(p)} each.",
            f"How much is the {p.pick(THINGS)}? It is {_price(p)}.",
            f"A bowl of {p.pick(FOODS)} costs {_price(p)} {p.pick(LOCATIONS)}.",
        )
    )


def _list_sentence(p):
    count = p.integer(3, 6)
    return p.pick(
        (
            f"{_person(p)} bought {_series(p.distinct(PLURALS, count))}.",
            f"We visited {_series(p.distinct(CITIES, count))}.",
            f"For dinner there was {_series(p.distinct(FOODS, count))}.",
            f"The zoo has {_series([_article(a) for a in p.distinct(ANIMALS, count)])}.",
            f"{_series(p.distinct(NAMES, count))} {p.pick(INTRANSITIVE)} at once.",
            f"Bring your {_series(p.distinct(THINGS, count))}.",
        )
    )


def _abbreviation(p):
    return p.pick(
        (
            f"{p.pick(TITLES)} {p.pick(SURNAMES)} met {p.pick(TITLES)} {p.pick(SURNAMES)} in {p.pick(CITIES)}.",
            f"Ask Dr. {p.pick(SURNAMES)} about the {p.pick(THINGS)}.",
            f"{p.pick(SURNAMES)} Ltd. sells {p.pick(PLURALS)} and {p.pick(PLURALS)}.",
            f"Mr. {p.pick(SURNAMES)} is the {p.pick(JOBS)} {p.pick(LOCATIONS)}.",
            f"Dr. {p.pick(SURNAMES)} {p.pick(VERBS)[1]} the {_thing(p)} {p.pick(PAST_TIMES)}.",
        )
    )


def _long(p, target):
    """Two to four clauses joined until the sentence is at least ``target`` characters long."""
    text = _capitalised(_clause(p))
    joiners = (", and ", ", but ", "; ", ", so ", ", while ", " - ")
    while len(text) < target:
        if p.chance(0.35):
            text += f" {p.pick(REASONS)}"
        else:
            text += p.pick(joiners) + _clause(p)
    return text + p.pick((".", ".", ".", "!"))


def _long_sentence(p):
    return _long(p, p.integer(90, 190))


_TEMPLATES = (
    (_statement, 10), (_statement_with_time, 6), (_future, 4), (_job_statement, 5),
    (_wh_question, 9), (_yes_no_question, 8), (_tag_question, 3), (_exclamation, 5),
    (_short, 7), (_numbers, 9), (_date, 6), (_price_sentence, 5), (_list_sentence, 6),
    (_abbreviation, 4), (_long_sentence, 13),
)  # fmt: skip


def normalised(text):
    """The cleaned text without punctuation: for comparing sentences (near-duplicates)."""
    return re.sub(r"[^a-z ]+", "", english_cleaners(text)).split()


def _is_near(words, held_out):
    text = " " + " ".join(words) + " "
    return any(f" {other} " in text or text in f" {other} " for other in held_out)


def generated_sentences(count, seed=DEFAULT_SEED, exclude=()):
    """``count`` distinct generated sentences, the same for the same arguments.

    Args:
      count: how many sentences to return.
      seed: the seed of the template choices.
      exclude: sentences to keep out (held-out sets, a corpus' own hand-written part): no
        sentence returned has the same normalised words as one of them, or contains one, or is
        contained in one.

    Returns:
      list of str, in generation order.
    """
    if count < 0:
        raise InvalidInputError(f"count must be >= 0, got {count}.")
    p = _Picker(seed)
    kept_out = {" ".join(normalised(text)) for text in exclude}
    seen = set(kept_out)
    templates = [template for template, weight in _TEMPLATES for _ in range(weight)]
    sentences = []
    attempts = 0
    while len(sentences) < count:
        attempts += 1
        if attempts > 20 * count + 1000:
            raise RuntimeError(
                f"The grammar produced only {len(sentences)} distinct sentences in {attempts} "
                f"tries; ask for fewer than {count}."
            )
        sentence = p.pick(templates)(p)
        words = normalised(sentence)
        key = " ".join(words)
        if key in seen or _is_near(words, kept_out):
            continue
        seen.add(key)
        sentences.append(sentence)
    return sentences
