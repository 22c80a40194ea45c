"""Extraction wrappers used by the simulated campaigns: THE PROJECT'S OWN TEXT.

No public corpus of distillation wrappers exists (nobody publishes the "show me your
hidden reasoning" or "grade this against a rubric" prompts they send to a teacher model),
so every template in this module was written for distillwatch. They model the families
named in the 2026 disclosures:

* ``HYDRA_SYSTEM`` / ``HYDRA_TASK`` / ``HYDRA_AGENT``: instruction templates a campaign
  wraps around real coding, tool-use and agentic tasks to harvest long, complete answers
  (``attack:hydra``).
* ``COT``: chain-of-thought elicitation ("explain your full reasoning step by step ...").
* ``RUBRIC``: rubric grading ("you are a grader, score this response ... explain each
  criterion"), used to harvest reward-model style judgements.
* ``CAREFUL``: a paraphrased, human-sounding variant family (``attack:careful_ring``): the
  same intent as ``COT`` / ``HYDRA_TASK`` in everyday wording, many variants.
* ``DATAGEN``: a reference-solution pipeline's prompts (the extraction customers of
  ``attack:reseller``).

Each family is a set of templates with slots; every slot has several paraphrases, so a
campaign's traffic is a *family* of near-duplicates, never one fixed string. The real
content (the task, question, or response to grade) is inserted verbatim from the corpora.
Nothing here carries a marker that a real attacker would not write.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class WrapperFamily:
    """Slot-filled templates.

    ``templates`` use ``{content}`` (and for rubric grading ``{question}`` and ``{response}``)
    for the real text; every other ``{slot}`` is filled from ``slots[slot]`` by the rng.
    Slot values may themselves contain slots.
    """

    name: str
    templates: tuple[str, ...]
    slots: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def render(self, rng: np.random.Generator, template: int | None = None, **fields: str) -> str:
        """Fill one template. ``fields`` are inserted verbatim (never re-formatted)."""
        i = int(rng.integers(len(self.templates))) if template is None else template % len(self.templates)

        def fill(text: str, depth: int = 0) -> str:
            def sub(m: re.Match) -> str:
                key = m.group(1)
                if key in fields:
                    return fields[key]
                opts = self.slots.get(key)
                if not opts:
                    return m.group(0)
                choice = opts[int(rng.integers(len(opts)))]
                return fill(choice, depth + 1) if depth < 4 else choice

            return _SLOT.sub(sub, text)

        # fields are substituted in the same single pass, so braces inside real content stay literal
        return fill(self.templates[i]).strip()

    def slot_names(self) -> set[str]:
        """Every ``{slot}`` name used in the templates or in any slot value.

        Includes the verbatim fields (``content``, ``question``, ``response``, ...), which have no
        entry in ``slots``.
        """
        names: set[str] = set()
        for t in self.templates + tuple(v for vs in self.slots.values() for v in vs):
            names |= set(_SLOT.findall(t))
        return names


# ------------------------------------------------------------------------------------
# attack:hydra: agentic coding and long tasks
# ------------------------------------------------------------------------------------
HYDRA_SYSTEM = WrapperFamily(
    name="hydra_system",
    templates=(
        "You are {persona}. {mission} {style}",
        "{persona_cap}. {mission} {style} {closing}",
        "System: you are {persona}.\n{mission}\n{style}",
    ),
    slots={
        "persona": ("a senior software engineer with deep expertise in {area}",
                    "an expert programmer and meticulous code reviewer",
                    "a world-class software architect who writes production-quality code",
                    "a principal engineer known for thorough, well-reasoned solutions"),
        "persona_cap": ("You are a senior software engineer with deep expertise in {area}",
                        "You are an expert programmer and meticulous code reviewer",
                        "You are a world-class software architect"),
        "area": ("distributed systems", "backend development", "Python and TypeScript", "systems programming",
                 "data engineering", "full-stack web development"),
        "mission": ("Solve the task completely; do not skip any part of the implementation.",
                    "Produce a complete, working solution, including every file that is needed.",
                    "Deliver a full solution that could be merged as-is.",
                    "Work through the task end to end and leave nothing unimplemented."),
        "style": ("Before writing code, lay out a detailed plan. Then write the full implementation, then unit "
                  "tests, then explain every design decision and its trade-offs.",
                  "Be exhaustive: cover edge cases, error handling and performance, and document your reasoning "
                  "at each step.",
                  "Think through the problem carefully and explain your reasoning before and after the code.",
                  "Never use placeholders such as '...' or 'rest of the code here'; always write everything out."),
        "closing": ("Long, complete answers are preferred.", "Do not truncate your answer.",
                    "Take as much space as you need.", ""),
    },
)

HYDRA_TASK = WrapperFamily(
    name="hydra_task",
    templates=(
        "Task:\n{content}\n\nRequirements:\n- {req1}\n- {req2}\n- {req3}\n- Target length: {length}.",
        "{content}\n\n{ask_long}",
        "### Instruction\n{content}\n\n### Response format\n1. Problem analysis\n2. Step-by-step plan\n"
        "3. Full solution\n4. Tests\n5. Complexity and trade-offs",
        "Here is the task you need to complete:\n\n\"\"\"\n{content}\n\"\"\"\n\n{ask_long} {req2}",
        "{content}\n\n---\n{req1} {req3} Answer length: {length}.",
    ),
    slots={
        "req1": ("Provide the complete implementation (no placeholders or ellipses).",
                 "Write out the full code, every function included.",
                 "Give a complete, runnable solution."),
        "req2": ("Include unit tests that cover the edge cases.", "Add tests for normal and edge cases.",
                 "Show how you would test it, with actual test code."),
        "req3": ("Explain your approach step by step.", "Walk through the reasoning behind each design choice.",
                 "Explain how the solution works, section by section."),
        "length": ("at least 1500 words", "as long as needed, do not truncate", "2000+ words", "comprehensive",
                   "very detailed"),
        "ask_long": ("Please give a thorough, long-form answer: first your analysis, then the full code, then a "
                     "walkthrough of how it works and how you verified it.",
                     "Answer in full detail. Start with your reasoning, then the complete solution, then a "
                     "line-by-line explanation.",
                     "I need the most complete answer you can give: reasoning, full implementation, tests and an "
                     "explanation of the trade-offs."),
    },
)

HYDRA_AGENT = WrapperFamily(
    name="hydra_agent",
    templates=(
        "You are an autonomous agent operating in a sandboxed environment with access to the tools listed. "
        "{agent_step} {agent_end}",
        "You are {agent_persona} with tool access. {agent_step} {agent_end} {agent_extra}",
        "Act as an agent that completes multi-step tasks using the provided functions. {agent_step} {agent_end}",
    ),
    slots={
        "agent_persona": ("a careful, methodical assistant", "an expert operator", "a reliable task-execution agent"),
        "agent_step": ("For every step: state your reasoning, choose a tool, and explain what you expect to observe.",
                       "Before each tool call, think out loud about why it is the right call and what could go wrong.",
                       "At each step write a detailed rationale, then the function call, then reflect on the result."),
        "agent_end": ("Continue until the task is fully complete, then summarise every action taken and why.",
                      "When finished, give a complete account of your reasoning across all steps.",
                      "Finish with a full step-by-step report of what you did."),
        "agent_extra": ("Be verbose.", "Explain everything.", ""),
    },
)

# ------------------------------------------------------------------------------------
# chain-of-thought elicitation
# ------------------------------------------------------------------------------------
COT = WrapperFamily(
    name="cot",
    templates=(
        "Explain your full reasoning step by step before answering. {show_all} {final}\n\n{content}",
        "{content}\n\nBefore you answer, think through the problem out loud. {show_all} {final}",
        "I want to see exactly how you think. For the question below, write out your complete reasoning "
        "process step by step, as you would privately, then give the answer.\n\nQuestion: {content}",
        "Solve this. Show your entire chain of thought: {enumerate}, and reflect on whether your approach is "
        "correct before giving the final answer.\n\n{content}",
        "<task>\n{content}\n</task>\nRespond in two parts. <thinking>: your full step-by-step reasoning, including "
        "every intermediate result and self-check. <answer>: the final answer only.",
        "{content}\n\nReason step by step. {show_all} After reasoning, double-check your work and then state the "
        "final answer. {final}",
    ),
    slots={
        "show_all": ("Show all intermediate thoughts, including any dead ends.",
                     "Write out every intermediate step in detail; do not skip steps and do not summarise.",
                     "Include all of your intermediate thoughts, even the ones you later discard.",
                     "Do not skip any step of your thinking, however obvious."),
        "final": ("Only then state the final answer.", "Put the final answer on the last line, prefixed with "
                  "'Final answer:'.", "End with the final answer on its own line.", ""),
        "enumerate": ("enumerate each sub-step, verify each intermediate result",
                      "number every step and check each intermediate result",
                      "list each reasoning step, then verify it"),
    },
)

# ------------------------------------------------------------------------------------
# rubric grading
# ------------------------------------------------------------------------------------
RUBRIC_CRITERIA = ("correctness", "completeness", "clarity", "quality of reasoning", "helpfulness",
                   "conciseness", "instruction following", "code quality", "factual accuracy", "safety")

RUBRIC = WrapperFamily(
    name="rubric",
    templates=(
        "You are a grader. Score the following response from {scale} against this rubric, explain each "
        "criterion in detail, and justify the final score.\n\nRubric:\n{rubric}\n\nQuestion:\n{question}\n\n"
        "Response to grade:\n{response}",
        "Act as an expert evaluator. Using the rubric below, assess the candidate answer criterion by criterion. "
        "For each criterion give a score ({scale}) and a detailed rationale, then an overall score.\n\n"
        "Rubric:\n{rubric}\n\n[Prompt]\n{question}\n\n[Candidate answer]\n{response}",
        "Rate the assistant's reply to the user's prompt.\nCriteria:\n{rubric}\nFor each criterion, write a "
        "paragraph of reasoning before assigning a score ({scale}). End with 'Overall: <score>'.\n\n"
        "### User prompt\n{question}\n\n### Assistant reply\n{response}",
        "Please evaluate the response below as a strict reviewer would. {grade_how}\n\nRubric:\n{rubric}\n\n"
        "Prompt: {question}\n\nResponse: {response}",
    ),
    slots={
        "scale": ("1-10", "1–10", "1 to 10", "1-5", "0-100"),
        "grade_how": ("Go through every rubric item, quote the relevant part of the response, explain what is "
                      "right or wrong, then give a score.",
                      "Reason carefully about each criterion before scoring, and explain how the response could "
                      "be improved.",
                      "Think step by step about each criterion and give a score with a justification for each."),
    },
)


def rubric_text(rng: np.random.Generator, k: int | None = None) -> str:
    """A rubric of k (3-5) criteria drawn from ``RUBRIC_CRITERIA``, as a numbered or bulleted list."""
    k = int(rng.integers(3, 6)) if k is None else k
    picks = rng.choice(len(RUBRIC_CRITERIA), size=k, replace=False)
    bullet = ("{i}. ", "- ", "* ")[int(rng.integers(3))]
    return "\n".join(bullet.format(i=i + 1) + RUBRIC_CRITERIA[j].capitalize() for i, j in enumerate(picks))


# ------------------------------------------------------------------------------------
# attack:careful_ring: paraphrased, human-sounding
# ------------------------------------------------------------------------------------
CAREFUL = WrapperFamily(
    name="careful",
    templates=(
        "{opener} {core} {detail}\n\n{content}",
        "{content}\n\n{core} {detail}",
        "{opener}\n\n{content}\n\n{core}",
        "{content}\n\n{code_core} {detail}",
        "{opener} {code_core}\n\n{content}",
    ),
    slots={
        "opener": ("Could you help me with the following?", "Here's a problem I'm working on.",
                   "I need a hand with this one.", "Quick question for you.", "Hi! Got something for you.",
                   "Can you take a look at this?"),
        "core": ("Please walk me through your reasoning in detail, step by step, before giving the answer.",
                 "Take me through your thinking one step at a time, showing each intermediate step, then give "
                 "the final answer.",
                 "Lay out your whole thought process step by step (don't skip anything), and only then answer.",
                 "Reason it through carefully and show every intermediate step of your thinking before the "
                 "final answer.",
                 "I'd like to understand how you get there, so please show all the steps of your reasoning first."),
        "code_core": ("Write the complete code and then explain how it works, step by step.",
                      "Can you write the full solution and walk me through your reasoning behind it?",
                      "Please give me the whole implementation, plus a detailed explanation of each part and why "
                      "you did it that way.",
                      "Think it through first, explain your plan, then give me the full working code."),
        "detail": ("Be as detailed as possible.", "Longer is better here, I want the full detail.",
                   "Don't summarise, I need every step.", "Thanks!", "The more thorough the better.", ""),
    },
)

# ------------------------------------------------------------------------------------
# attack:reseller: extraction customers' reference-solution pipeline
# ------------------------------------------------------------------------------------
DATAGEN = WrapperFamily(
    name="datagen",
    templates=(
        "You are writing reference solutions. Give a complete, rigorous, step-by-step solution to the problem "
        "below. {dg_format}\n\nProblem:\n{content}",
        "Provide an expert-level answer to the following. {dg_reason} {dg_format}\n\n{content}",
        "{content}\n\n{dg_reason} {dg_format}",
    ),
    slots={
        "dg_reason": ("Explain the reasoning behind every step.", "Show the full derivation.",
                      "Include your detailed reasoning, then the answer."),
        "dg_format": ("Use clear headings and finish with a short summary.", "Format the answer in Markdown.",
                      "Answer in English, in full sentences.", ""),
    },
)

FAMILIES: dict[str, WrapperFamily] = {f.name: f for f in (HYDRA_SYSTEM, HYDRA_TASK, HYDRA_AGENT, COT, RUBRIC,
                                                          CAREFUL, DATAGEN)}


def humanise(text: str, rng: np.random.Generator, p: float = 0.3) -> str:
    """Light, human-looking surface noise (lower-cased first letter, dropped final full stop,
    doubled space): applied by ``attack:careful_ring`` so its wrappers are not byte-identical."""
    if rng.random() < p and text[:1] in string.ascii_uppercase:
        text = text[0].lower() + text[1:]
    if rng.random() < p and text.endswith("."):
        text = text[:-1]
    if rng.random() < p / 2:
        text = text.replace(". ", ".  ", 1)
    return text
