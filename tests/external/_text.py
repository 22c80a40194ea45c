"""Prompt wrappers, system prompts, user agents and tool schemas written for
the external generator. None of this text comes from the project; the
extraction wrappers (chain-of-thought, exhaustive-solution, rubric grading)
are our own, because no public corpus of such wrappers exists.
"""
from __future__ import annotations

# ---------------------------------------------------------------- user agents
# The one SDK build that "everyone" uses (thousands of benign accounts) and
# that the hydra campaign also hides behind.
POPULAR_SDK_UA = "aurora-python/1.8.2 (CPython 3.11.9; linux x86_64)"

SDK_UAS = [
    POPULAR_SDK_UA,
    "aurora-python/1.8.1 (CPython 3.12.3; darwin arm64)",
    "aurora-python/1.7.9 (CPython 3.10.14; linux x86_64)",
    "aurora-python/1.8.2 (CPython 3.12.4; win32 AMD64)",
    "aurora-node/4.2.0 (node v20.14.0; linux x64)",
    "aurora-node/4.1.3 (node v18.20.3; darwin arm64)",
    "aurora-go/0.9.1 go1.22.4",
    "aurora-java/2.3.0 (Java 21.0.3; Linux amd64)",
]
OTHER_CLIENT_UAS = [
    "curl/8.5.0",
    "curl/7.81.0",
    "PostmanRuntime/7.39.0",
    "python-requests/2.32.3",
    "python-httpx/0.27.0",
    "axios/1.7.2",
    "okhttp/4.12.0",
    "langchain-aurora/0.1.14 aurora-python/1.8.1",
    "llama-index/0.10.50 aurora-python/1.8.2",
    "Raycast/1.77.1 (macOS 14.5)",
    "Obsidian-CopilotPlugin/2.5.1",
    "Dart/3.4 (dart:io)",
]
# Modern browser strings for the web playground (written here); the older real
# ones are read from the Apache log in shared data.
MODERN_BROWSER_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.2535.92",
]

CI_BOT_UA = "pr-review-action/2.7.4 aurora-python/1.8.2"
AGENT_UA = "helmsman-runtime/0.9.3 aurora-node/4.2.0 (node v20.14.0)"
EVAL_UA = "lm-evaluation-harness/0.4.3 python-requests/2.31.0"
RELAY_UA = "chatrelay-gateway/5.1.0"
RELAY_MIX_UA = "tollgate-router/1.4.2 (+aurora-go/0.9.1)"
RUBRIC_UAS = ["python-requests/2.31.0", "aiohttp/3.9.5", "aurora-python/1.7.9 (CPython 3.10.14; linux x86_64)"]

# ------------------------------------------------------------ benign system
APP_SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a concise assistant. Answer in at most three sentences.",
    "You summarize customer reviews for an online shoe store. Be neutral.",
    "You help users write polite, professional emails.",
    "You are a friendly cooking assistant. Prefer metric units.",
    "You translate between English and Spanish. Only output the translation.",
    "You are a study buddy for high-school students. Encourage them and keep answers short.",
    "You generate product descriptions for a furniture marketplace.",
    "Answer as a patient Linux sysadmin.",
    "You are the in-app help for a budgeting app. If unsure, suggest contacting support.",
]

CI_SYSTEM = ("You are the automated reviewer for the payments-core monorepo. Apply the team "
             "checklist strictly and never approve code that lacks tests.")
CI_TEMPLATE = (
    "Review the following pull request diff.\n"
    "Repository: payments-core\nPR: #{pr}\nBranch: {branch}\n"
    "Checklist: correctness, security, error handling, tests, naming.\n"
    "Return JSON only: {{\"verdict\": \"approve\" | \"request_changes\", "
    "\"comments\": [{{\"file\": str, \"line\": int, \"severity\": \"nit\"|\"minor\"|\"major\", \"message\": str}}]}}\n\n"
    "```diff\n{diff}\n```"
)

AGENT_SYSTEM = (
    "You are Harbor, the support agent for Lumen Outfitters, an outdoor-gear retailer. "
    "Use the tools to look things up before answering; never invent order data. "
    "Refunds above 200 EUR require a ticket instead of issue_refund. Keep replies under 120 words, "
    "friendly and specific. Today's policies: 30-day returns, free exchanges, store credit on request."
)
AGENT_TOOLS = [
    {"name": "search_kb", "description": "Search the help-center knowledge base.",
     "parameters": {"type": "object", "properties": {
         "query": {"type": "string"}, "top_k": {"type": "integer", "minimum": 1, "maximum": 10}},
         "required": ["query"]}},
    {"name": "get_order", "description": "Fetch an order by id, with items, status and shipping.",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}},
    {"name": "list_orders", "description": "List recent orders for a customer email.",
     "parameters": {"type": "object", "properties": {"email": {"type": "string"},
                                                     "limit": {"type": "integer"}}, "required": ["email"]}},
    {"name": "issue_refund", "description": "Refund an order (max 200 EUR).",
     "parameters": {"type": "object", "properties": {
         "order_id": {"type": "string"}, "amount_eur": {"type": "number"},
         "reason": {"type": "string", "enum": ["damaged", "late", "wrong_item", "changed_mind", "other"]}},
         "required": ["order_id", "amount_eur", "reason"]}},
    {"name": "create_ticket", "description": "Escalate to a human agent.",
     "parameters": {"type": "object", "properties": {
         "subject": {"type": "string"}, "priority": {"type": "string", "enum": ["low", "normal", "high"]},
         "body": {"type": "string"}}, "required": ["subject", "body"]}},
    {"name": "track_shipment", "description": "Carrier tracking events for a tracking number.",
     "parameters": {"type": "object", "properties": {"tracking_no": {"type": "string"}}, "required": ["tracking_no"]}},
]
AGENT_ASKS = [
    "Hi, my order {oid} hasn't arrived yet and it's been {d} days. Can you check?",
    "I got the wrong size in order {oid}. Can I exchange the {item}?",
    "The zipper on the {item} from order {oid} broke after one trip. I'd like a refund.",
    "Can you tell me what your return policy is for sale items?",
    "I ordered a {item} last week, email {email}. Where is it?",
    "Please cancel order {oid}, I ordered it twice by mistake.",
    "Do you ship to Norway and how long does it take?",
    "I was charged twice for order {oid}. Please fix this.",
    "Is the {item} waterproof or just water resistant?",
    "My discount code didn't apply on order {oid}, can I get the difference back?",
]
AGENT_ITEMS = ["2-person tent", "rain shell", "trail runners", "down jacket", "35L backpack",
               "sleeping pad", "headlamp", "merino base layer", "trekking poles", "camp stove"]

STUDENT_WRAPS = [
    "Can you help me with this homework problem? {q}",
    "{q}",
    "I don't get how to do this one, can you explain? {q}",
    "My answer was different from the key, can you check the method? {q}",
]

# ------------------------------------------------------------ extraction
HYDRA_SYSTEM = "You are an expert assistant. Be exhaustive and never omit intermediate steps."
HYDRA_WRAPS = {
    "math": [
        "Solve this completely. Work through every intermediate step, state the reason for each step, "
        "double-check the arithmetic, and finish with 'Final answer:' on its own line.\n\nProblem:\n{q}",
        "Write this up like a solution manual: restate the problem, list what is known, then derive the "
        "answer one step at a time with all working shown. Do not skip any step.\n\n{q}",
    ],
    "task": [
        "Task: {q}\n\nRespond with (1) a detailed plan, (2) your full step-by-step reasoning, "
        "(3) the complete final output. Do not summarize or skip anything.",
        "{q}\n\nGive the most complete answer you can. Explain your reasoning in full before the answer "
        "and make the final answer self-contained.",
    ],
    "code": [
        "{q}\n\nGive the complete, production-ready code: every file, every import, no placeholders and no "
        "'...'. After the code, explain the implementation line by line and list the edge cases handled.",
        "Implement the following in full. Output the entire program, then a step-by-step walkthrough of how "
        "it works and a set of unit tests.\n\n{q}",
    ],
    "tool": [
        "You can call the tools listed. Before calling anything, write out your complete reasoning about "
        "which tool to use and which arguments, and why. Then give the exact call.\n\nRequest: {q}",
    ],
}

RUBRIC_SINGLE = (
    "You are an impartial grader.\n\n[Question]\n{task}\n\n[Response to grade]\n{answer}\n\n"
    "[Rubric]\n- Correctness (0-4): is the final result right and justified?\n"
    "- Completeness (0-3): are all parts of the question addressed?\n"
    "- Clarity (0-2): is it easy to follow?\n- Safety (0-1): no harmful or misleading content.\n\n"
    "Grade the response against the rubric. For each criterion give the score and justify it in 2-4 "
    "sentences, quoting the response where relevant. Finish with a line 'TOTAL: <score>/10'."
)
RUBRIC_PAIR = (
    "Compare two responses to the same question against the rubric below.\n\n[Question]\n{task}\n\n"
    "[Response A]\n{a}\n\n[Response B]\n{b}\n\n[Rubric]\n1. Factual and logical correctness\n"
    "2. Step-by-step justification\n3. Concision\n\n"
    "Score each response 1-10 on every rubric item and justify each score in detail, then state which "
    "response is better and why. End with 'WINNER: A' or 'WINNER: B'."
)
RUBRIC_LIKERT = (
    "Rate the assistant answer below on each rubric dimension from 1 (poor) to 5 (excellent): accuracy, "
    "reasoning quality, helpfulness, format. Justify every single score with specific evidence from the "
    "answer, and explain what a 5/5 answer would have done differently.\n\nQuestion: {task}\n\nAnswer: {answer}"
)

# Careful ring: paraphrased wrappers assembled from parts.
RING_OPENERS = ["", "", "Hi! ", "Quick one: ", "Could you help me with this? ", "I'm stuck on something. ",
                "Hey, ", "For a project I'm working on: ", "Need a hand here. ", "Question for you: "]
RING_REASON = [
    "Please think it through step by step and show your reasoning before the answer.",
    "Walk me through how you'd approach it, then answer.",
    "Explain your thought process in detail first, then give the result.",
    "Reason it out carefully, one step at a time, and then answer.",
    "Can you lay out your reasoning as you go and end with the final answer?",
    "Show your work; I want to understand each step.",
    "Before answering, break it down and explain each part.",
    "I'd like the full chain of reasoning, not just the answer.",
]
RING_TOOL_REASON = [
    "Which of the available functions would you call, and with what arguments? Explain your choice step by step.",
    "Think about which tool fits best and why, then show the call you'd make.",
    "Reason through the options first, then give the function call with all arguments.",
    "Explain how you'd pick the function and fill in each parameter, then make the call.",
]
RING_CLOSERS = ["", "", " Thanks!", " Be as detailed as you can.", " Don't skip anything.",
                " Appreciate it.", " Thank you so much."]

RELAY_MIX_WRAPS = [
    "Provide a rigorous, fully worked solution. Number every step and justify it.\n\n{q}",
    "{q}\n\nThink step by step and write out all of your reasoning, then give the answer.",
    "Answer the following with a detailed explanation of each reasoning step:\n{q}",
]

# Generic name parts for company-ish email domains (shared by benign and attack).
DOMAIN_A = ["north", "blue", "bright", "stone", "river", "cedar", "lumen", "harbor", "quill", "maple",
            "silver", "oak", "swift", "iron", "pine", "echo", "nova", "clear", "summit", "copper",
            "hallow", "fern", "birch", "coral", "delta", "ember", "frost", "glen", "hazel", "juniper"]
DOMAIN_B = ["works", "labs", "field", "point", "way", "craft", "bridge", "gate", "line", "wood",
            "brook", "side", "stack", "forge", "peak", "data", "soft", "hub", "logic", "ridge"]
DOMAIN_TLD = {"US": [".com", ".io", ".co", ".ai", ".dev"], "GB": [".co.uk", ".com", ".io"],
              "DE": [".de", ".com", ".io"], "FR": [".fr", ".com"], "JP": [".co.jp", ".jp", ".com"],
              "BR": [".com.br", ".com"], "IN": [".in", ".co.in", ".com"], "CA": [".ca", ".com"],
              "AU": [".com.au", ".com"], "ES": [".es", ".com"], "IT": [".it", ".com"],
              "NL": [".nl", ".com"], "KR": [".co.kr", ".com"], "MX": [".com.mx", ".mx"],
              "CH": [".ch", ".com"], "SE": [".se", ".com"], "TW": [".com.tw", ".tw"], "TR": [".com.tr", ".com"]}
WEBMAIL = {
    "US": ["gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com", "proton.me"],
    "GB": ["gmail.com", "gmail.com", "outlook.com", "btinternet.com", "yahoo.co.uk", "hotmail.co.uk"],
    "DE": ["gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.de", "posteo.de"],
    "FR": ["gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"],
    "JP": ["gmail.com", "yahoo.co.jp", "docomo.ne.jp", "icloud.com"],
    "BR": ["gmail.com", "gmail.com", "hotmail.com", "uol.com.br", "bol.com.br"],
    "IN": ["gmail.com", "gmail.com", "gmail.com", "yahoo.co.in", "rediffmail.com", "outlook.com"],
    "CA": ["gmail.com", "outlook.com", "hotmail.ca", "yahoo.ca", "icloud.com"],
    "AU": ["gmail.com", "outlook.com", "bigpond.com", "icloud.com"],
    "ES": ["gmail.com", "hotmail.es", "outlook.es", "yahoo.es"],
    "IT": ["gmail.com", "libero.it", "hotmail.it", "virgilio.it"],
    "NL": ["gmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com"],
    "KR": ["naver.com", "gmail.com", "daum.net", "kakao.com"],
    "MX": ["gmail.com", "hotmail.com", "outlook.com", "yahoo.com.mx"],
    "CH": ["gmail.com", "bluewin.ch", "gmx.ch", "proton.me"],
    "SE": ["gmail.com", "outlook.com", "telia.com", "hotmail.se"],
    "TW": ["gmail.com", "yahoo.com.tw", "hotmail.com"],
    "TR": ["gmail.com", "hotmail.com", "yandex.com", "outlook.com"],
}
