"""Templates of the simulated BENIGN archetypes: the project's own text.

These are the fixed prompts that legitimate high-volume users wrap around real content
(an enterprise's ticket-triage pipeline, a coding-agent product's system prompt and tool
schemas, an evaluation harness's prompt template, developers' system prompts). They are
hard negatives on purpose: templated, high volume, some of them asking the model to
"think step by step". Like ``wrappers.py``, they were written for distillwatch; the
content placed inside them comes verbatim from the public corpora.
"""

from __future__ import annotations

# ---- benign:enterprise: templated automation (fixed templates, fixed params) -----------
ENTERPRISE_TEMPLATES: tuple[dict, ...] = (
    {
        "name": "ticket_triage",
        "system": "You are a support-ticket triage assistant for Northwind Logistics. Classify each ticket into "
                  "exactly one category: billing, shipping, technical, account, feedback, other. Also rate "
                  "urgency from 1 (low) to 4 (critical). Respond with JSON only: "
                  "{\"category\": ..., \"urgency\": ..., \"language\": ...}.",
        "user": "Ticket #{ticket_id}\nChannel: {channel}\n---\n{text}",
        "max_tokens": 120,
        "out_median": 45,
    },
    {
        "name": "ticket_summary",
        "system": "Summarise the customer message below for the agent handling it. Use at most three bullet "
                  "points, neutral tone, no greetings. If the customer asks a question, end with 'Open question:' "
                  "and restate it.",
        "user": "Customer message (ticket {ticket_id}):\n\n{text}",
        "max_tokens": 300,
        "out_median": 110,
    },
    {
        "name": "entity_extraction",
        "system": None,
        "user": "Extract the following fields from the text and return them as JSON with these keys: "
                "product, order_id, person_names, dates, sentiment (positive|neutral|negative). Use null when a "
                "field is absent.\n\nText:\n{text}\n\nJSON:",
        "max_tokens": 200,
        "out_median": 70,
    },
)
ENTERPRISE_CHANNELS = ("email", "web_form", "chat", "app")

# ---- benign:coding_agent: product system prompt and tools --------------------------------
CODING_AGENT_SYSTEM = (
    "You are Forge, an AI pair programmer working inside the user's repository. You can read and write files, "
    "search the code base and run shell commands through the tools provided.\n\n"
    "Guidelines:\n"
    "- Before editing, read the relevant files and understand the existing conventions.\n"
    "- Prefer small, focused changes. Keep the existing style, naming and formatting.\n"
    "- After editing, run the project's tests or linters when they exist and fix what you broke.\n"
    "- Never print secrets or credentials. Do not run destructive commands (rm -rf, git push --force) unless "
    "the user explicitly asks.\n"
    "- Use one tool call per step. When the task is complete, reply with a short summary of the changes and "
    "any follow-up the user should do.\n"
    "- If the request is ambiguous, ask one clarifying question instead of guessing.\n\n"
    "Environment: {os}, shell {shell}, repository root /workspace/{repo}."
)
CODING_AGENT_ENV = {
    "os": ("Linux", "macOS 14", "Ubuntu 22.04"),
    "shell": ("bash", "zsh"),
    "repo": ("api-server", "web", "billing-service", "mobile-app", "data-pipeline", "cli", "docs-site", "infra"),
}
CODING_AGENT_TOOLS: tuple[dict, ...] = (
    {"name": "read_file", "description": "Read a file from the repository. Returns its contents with line numbers.",
     "parameters": {"type": "object", "properties": {
         "path": {"type": "string", "description": "Path relative to the repository root."},
         "start_line": {"type": "integer"}, "end_line": {"type": "integer"}}, "required": ["path"]}},
    {"name": "write_file", "description": "Create or overwrite a file with the given contents.",
     "parameters": {"type": "object", "properties": {
         "path": {"type": "string"}, "contents": {"type": "string"}}, "required": ["path", "contents"]}},
    {"name": "apply_patch", "description": "Apply a unified diff to the working tree.",
     "parameters": {"type": "object", "properties": {"patch": {"type": "string"}}, "required": ["patch"]}},
    {"name": "search_code", "description": "Search the repository with a regular expression (ripgrep syntax).",
     "parameters": {"type": "object", "properties": {
         "pattern": {"type": "string"}, "glob": {"type": "string", "description": "Optional file glob."}},
         "required": ["pattern"]}},
    {"name": "run_command", "description": "Run a shell command in the repository root and return stdout, "
                                           "stderr and the exit code. Times out after 120 s.",
     "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}},
    {"name": "list_dir", "description": "List the files in a directory.",
     "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}},
)
AGENT_FILES = ("src/main.py", "src/utils.py", "app/models/user.rb", "src/index.ts", "src/components/Table.tsx",
               "pkg/server/handler.go", "tests/test_api.py", "README.md", "package.json", "pyproject.toml",
               "src/lib.rs", "cmd/root.go", "src/services/payment.ts", "config/settings.py")
AGENT_COMMANDS = ("pytest -q", "npm test", "go test ./...", "cargo test", "ruff check .", "npm run lint",
                  "git status", "git diff --stat", "make build", "python -m mypy src")
AGENT_RESULTS: dict[str, tuple[str, ...]] = {
    "read_file": ("(148 lines)", "(62 lines)", "(311 lines)", "(27 lines)"),
    "write_file": ("File written.",),
    "apply_patch": ("Patch applied cleanly.", "error: patch failed: src/utils.py:42"),
    "search_code": ("3 matches", "No matches.", "17 matches in 6 files", "1 match"),
    "run_command": ("exit code 0", "exit code 1\nFAILED tests/test_api.py::test_create_user - AssertionError",
                    "12 passed in 1.84s", "exit code 0\nAll checks passed!", "exit code 2\nerror: unused import"),
    "list_dir": ("src/ tests/ README.md pyproject.toml", "components/ hooks/ index.ts utils.ts", "handler.go server.go"),
}
"""Short tool-result placeholders (no long fake text), by tool name."""

# ---- benign:eval_harness: benchmark prompt templates ----------------------------------------
EVAL_MATH_TEMPLATES: tuple[str, ...] = (
    "Solve the following math problem step by step. The last line of your response should have the form "
    "\"Answer: <number>\".\n\n{question}",
    "Question: {question}\nLet's think step by step.",
    "{fewshot}Q: {question}\nA:",
    "Answer the grade-school math question below. Think step by step, then give the final numeric answer "
    "after '####'.\n\n{question}",
)
EVAL_CODE_TEMPLATES: tuple[str, ...] = (
    "Complete the following programming task. Return only the code in a single fenced block.\n\n{question}",
    "You are an expert programmer. Solve the task below.\n\n### Task\n{question}\n\n### Solution\n",
)

# ---- benign:developer / campus: everyday system prompts and phrasing -------------------------
DEV_SYSTEM_PROMPTS: tuple[str | None, ...] = (
    None, None, None,
    "You are a helpful assistant.",
    "You are a helpful assistant.",
    "You are a senior software engineer. Answer concisely and include code when useful.",
    "You are a code reviewer. Point out bugs and suggest improvements.",
    "Answer in Markdown.",
    "You are an assistant that helps with SQL and data analysis. Let's think step by step.",
    "You are a helpful assistant. Think step by step before answering.",
)
STUDENT_PREFIXES: tuple[str, ...] = (
    "", "", "", "can you help me with my homework? ", "explain this step by step please: ",
    "how do I solve this? ", "I don't get this question, can you explain it step by step?\n\n",
    "check my understanding: ", "hi, ",
)
