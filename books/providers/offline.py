"""An offline, extractive summary built from the book's own description and metadata.

It is no AI and says so (`provider: "offline"`): it lets a machine with no keys show the whole flow.
"""

import re

from books.models import Book
from books.providers.base import GeneratedSummary
from books.providers.summary_schema import SummaryContent

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“])")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if len(s.strip()) > 20]


def _title_of(sentence: str) -> str:
    words = sentence.rstrip(".!?").split()
    return " ".join(words[:8]) + ("…" if len(words) > 8 else "")


class OfflineProvider:
    name = "offline"
    model = "extractive-v1"

    def generate(self, book: Book) -> GeneratedSummary:
        by = ", ".join(book.authors) or "the author"
        subject = ", ".join(book.categories) or "its subject"
        sentences = _sentences(book.description) or [f"{book.title} by {by} is a book about {subject}."]
        # Pad with facts from the metadata so every list reaches the schema's minimum length.
        facts = [
            f"{book.title} was written by {by}.",
            f"It belongs to {subject}.",
            f"It was published in {book.published_year}."
            if book.published_year
            else "Its publication year is unknown.",
            f"It runs to {book.page_count} pages." if book.page_count else "Its length is not recorded.",
            f"Its publisher is {book.publisher}." if book.publisher else "Its publisher is not recorded.",
        ]
        points = (sentences + facts)[:10]
        while len(points) < 5:
            points.append(facts[len(points) % len(facts)])
        words = len(book.description.split())
        content = {
            "main_argument": {
                "problem": sentences[0],
                "solution": sentences[1] if len(sentences) > 1 else sentences[0],
                "why_it_matters": f"Readers interested in {subject} can use {book.title} as a guide.",
            },
            "framework": None,
            "key_insights": [
                {
                    "title": _title_of(point),
                    "description": point,
                    "theme": subject,
                    "practical_application": "",
                    "supporting_quote": "",
                }
                for point in points
            ],
            "implementation_guide": {
                "overview": f"How to work through {book.title}.",
                "steps": [
                    {
                        "number": i,
                        "title": _title_of(point),
                        "description": point,
                        "time_estimate": "",
                        "success_criteria": "",
                    }
                    for i, point in enumerate(points[:3], start=1)
                ],
                "common_pitfalls": [],
                "quick_wins": [],
            },
            "one_page_summary": {
                "headline": book.title + (f": {book.subtitle}" if book.subtitle else ""),
                "core_message": sentences[0],
                "key_principles": points[:3],
                "actionable_takeaways": [f"Read about: {_title_of(p)}" for p in points[:3]],
                "memorable_quote": "",
                "who_should_read": f"Readers interested in {subject}.",
                "bottom_line": sentences[-1],
            },
            "reading_time_minutes": max(1, round(words / 200) + 2),
        }
        return GeneratedSummary(
            content=SummaryContent.model_validate(content).model_dump(), provider=self.name, model=self.model
        )
