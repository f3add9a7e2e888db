"""The curated categories readers pick as interests (a profile field) and browse by: each maps to the Google Books
subject that `books` searches for it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    subject: str  # what Google Books' `subject:` search matches


CATEGORIES = [
    Category("business", "Business", "Business & Economics"),
    Category("self-help", "Self-Help", "Self-Help"),
    Category("psychology", "Psychology", "Psychology"),
    Category("productivity", "Productivity", "Time Management"),
    Category("leadership", "Leadership", "Leadership"),
    Category("personal-finance", "Personal Finance", "Personal Finance"),
    Category("economics", "Economics", "Economics"),
    Category("history", "History", "History"),
    Category("science", "Science", "Science"),
    Category("philosophy", "Philosophy", "Philosophy"),
    Category("biography", "Biography & Memoir", "Biography & Autobiography"),
    Category("health", "Health & Fitness", "Health & Fitness"),
    Category("technology", "Technology", "Technology & Engineering"),
    Category("computers", "Computers & Programming", "Computers"),
    Category("fiction", "Fiction", "Fiction"),
    Category("science-fiction", "Science Fiction", "Science Fiction"),
    Category("fantasy", "Fantasy", "Fantasy"),
    Category("classics", "Classics", "Classics"),
    Category("mystery", "Mystery & Thriller", "Mystery"),
    Category("politics", "Politics", "Political Science"),
    Category("social-science", "Society & Culture", "Social Science"),
    Category("relationships", "Relationships & Family", "Family & Relationships"),
]

BY_SLUG = {category.slug: category for category in CATEGORIES}
