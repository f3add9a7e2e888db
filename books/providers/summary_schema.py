"""Summary content, schema version 1: what the mobile client renders, and what Gemini must return."""

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    """Trims text and drops keys it does not know: an extra key is no reason to pay for another Gemini call.
    Not `extra="forbid"`, which would also send `additionalProperties: false` in Gemini's response schema."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class MainArgument(_Lenient):
    problem: str = Field(min_length=1)
    solution: str = Field(min_length=1)
    why_it_matters: str = Field(min_length=1)


class FrameworkComponent(_Lenient):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    example: str = ""


class Framework(_Lenient):
    name: str = Field(min_length=1)
    overview: str = Field(min_length=1)
    components: list[FrameworkComponent] = Field(default_factory=list)


class KeyInsight(_Lenient):
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    theme: str = ""
    practical_application: str = ""
    supporting_quote: str = ""


class Step(_Lenient):
    number: int = Field(ge=1)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    time_estimate: str = ""
    success_criteria: str = ""


class ImplementationGuide(_Lenient):
    overview: str = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    common_pitfalls: list[str] = Field(default_factory=list)
    quick_wins: list[str] = Field(default_factory=list)


class OnePageSummary(_Lenient):
    headline: str = Field(min_length=1)
    core_message: str = Field(min_length=1)
    key_principles: list[str] = Field(min_length=3, max_length=7)
    actionable_takeaways: list[str] = Field(min_length=3, max_length=5)
    memorable_quote: str = ""
    who_should_read: str = Field(min_length=1)
    bottom_line: str = Field(min_length=1)


class SummaryContent(_Lenient):
    main_argument: MainArgument
    framework: Framework | None = None
    key_insights: list[KeyInsight] = Field(min_length=5, max_length=10)
    implementation_guide: ImplementationGuide
    one_page_summary: OnePageSummary
    reading_time_minutes: int = Field(ge=1, le=600)
