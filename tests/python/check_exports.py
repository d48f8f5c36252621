"""Load rubricate exports with Hugging Face `datasets` and check each one against the shape
its trainer reads, so "loads in TRL unchanged" is tested rather than assumed.

The checks restate, in our own code, the dataset-type rules TRL documents for its trainers
(https://huggingface.co/docs/trl/dataset_formats): conversational means the first of
prompt/chosen/rejected/completion/messages holds a list of {role, content} messages;
SFTTrainer takes `messages`, `text` or `prompt`+`completion`; DPOTrainer takes
`prompt`+`chosen`+`rejected` of one kind (all strings, or all message lists). TRL itself
is not installed: it would pull torch, which a test machine does not need.

Usage: python check_exports.py FORMAT=FILE [FORMAT=FILE ...]
Prints one line per file and exits 1 on the first failure, saying which row and why.
"""

import sys

import datasets

ROLES = {"system", "user", "assistant"}
CONVERSATIONAL_KEYS = ["prompt", "chosen", "rejected", "completion", "messages"]


class Bad(Exception):
    pass


def is_messages(value):
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(m, dict) and set(m) >= {"role", "content"} for m in value)
    )


def check_messages(value, where):
    if not is_messages(value):
        raise Bad(f"{where}: expected a non-empty list of {{role, content}} messages, got {value!r:.200}")
    for i, m in enumerate(value):
        if m["role"] not in ROLES:
            raise Bad(f"{where}[{i}]: role {m['role']!r} is not one of {sorted(ROLES)}")
        if not isinstance(m["content"], str) or not m["content"].strip():
            raise Bad(f"{where}[{i}]: empty or non-text content")


def is_conversational(row):
    for key in CONVERSATIONAL_KEYS:
        if key in row and row[key] is not None:
            return is_messages(row[key])
    return False


def sft_kind(columns):
    """Which SFTTrainer input a dataset is, or None when it would fail (KeyError: 'text')."""
    if "messages" in columns:
        return "messages"
    if "prompt" in columns and "completion" in columns:
        return "prompt-completion"
    if "text" in columns:
        return "text"
    return None


def check_sft(ds, name):
    kind = sft_kind(ds.column_names)
    if kind is None:
        raise Bad(f"{name}: SFTTrainer finds none of messages / prompt+completion / text in {ds.column_names}")
    for n, row in enumerate(ds):
        where = f"{name} row {n + 1}"
        if not is_conversational(row):
            raise Bad(f"{where}: not conversational")
        if kind == "messages":
            check_messages(row["messages"], f"{where} messages")
            if row["messages"][-1]["role"] != "assistant":
                raise Bad(f"{where}: the last message must be the assistant's (the trained turn)")
        else:
            check_messages(row["prompt"], f"{where} prompt")
            check_messages(row["completion"], f"{where} completion")
            if row["prompt"][-1]["role"] != "user":
                raise Bad(f"{where}: the prompt must end with the user turn")
            if [m["role"] for m in row["completion"]] != ["assistant"]:
                raise Bad(f"{where}: the completion must be one assistant message")
        if row.get("reasoning_approved") is not True:
            raise Bad(f"{where}: a default export must carry only approved reasoning")
    return kind


def check_preference(ds, name, conversational):
    for col in ("prompt", "chosen", "rejected"):
        if col not in ds.column_names:
            raise Bad(f"{name}: DPOTrainer needs column {col!r}; found {ds.column_names}")
    for n, row in enumerate(ds):
        where = f"{name} row {n + 1}"
        if is_conversational(row) != conversational:
            raise Bad(f"{where}: expected {'conversational' if conversational else 'standard'} rows")
        if conversational:
            check_messages(row["prompt"], f"{where} prompt")
            for col in ("chosen", "rejected"):
                check_messages(row[col], f"{where} {col}")
                if row[col][0]["role"] != "assistant":
                    raise Bad(f"{where} {col}: must be the assistant's answer")
        else:
            for col in ("prompt", "chosen", "rejected"):
                if not isinstance(row[col], str) or not row[col].strip():
                    raise Bad(f"{where} {col}: must be non-empty text")
        if row["chosen"] == row["rejected"]:
            raise Bad(f"{where}: chosen and rejected are the same")
    return "preference"


RM_R1_OPENINGS = (
    "[Client Question]\n",
    "[The Start of the Conversation between Chatbot A and the Client]\n",
)


def check_rm_r1(ds, name, rl):
    for col in ("context_messages", "winner"):
        if col not in ds.column_names:
            raise Bad(f"{name}: RM-R1 needs column {col!r}; found {ds.column_names}")
    for n, row in enumerate(ds):
        where = f"{name} row {n + 1}"
        ctx = row["context_messages"]
        check_messages(ctx, f"{where} context_messages")
        # RM-R1's layout: the instructions as the system turn, then the pair as one user
        # turn opening with the single- or multi-turn header its models were trained on.
        if [m["role"] for m in ctx] != ["system", "user"] or "<type>Reasoning</type>" not in ctx[0]["content"]:
            raise Bad(f"{where}: context_messages must be RM-R1's system prompt and one user turn")
        if not ctx[1]["content"].startswith(RM_R1_OPENINGS):
            raise Bad(f"{where}: the user turn must open with one of {RM_R1_OPENINGS}")
        if rl:
            if row["winner"] not in ("model_a", "model_b"):
                raise Bad(f"{where}: winner must be model_a or model_b, got {row['winner']!r}")
        elif not row["winner"].rstrip().endswith(("<answer>[[A]]</answer>", "<answer>[[B]]</answer>")):
            raise Bad(f"{where}: the trace must end with <answer>[[A]]</answer> or [[B]]")
        elif not row["winner"].startswith(("<type>Chat</type>\n", "<type>Reasoning</type>\n")):
            raise Bad(f"{where}: the trace must open with RM-R1's <type> line")
    return "rm-r1"


def check_rows(ds, name, required):
    missing = [c for c in required if c not in ds.column_names]
    if missing:
        raise Bad(f"{name}: missing columns {missing}")
    return "records"


def check(fmt, path):
    ds = datasets.load_dataset("json", data_files=path, split="train")
    if len(ds) == 0:
        raise Bad(f"{fmt}: no rows in {path}")
    if fmt == "dpo":
        kind = check_preference(ds, fmt, conversational=False)
    elif fmt == "dpo-chat":
        kind = check_preference(ds, fmt, conversational=True)
    elif fmt == "sft":
        kind = check_sft(ds, fmt)
    elif fmt == "rm-r1-sft":
        kind = check_sft(ds, fmt)
        check_rm_r1(ds, fmt, rl=False)
        for n, row in enumerate(ds):
            if row["prompt"] != row["context_messages"] or row["completion"][0]["content"] != row["winner"]:
                raise Bad(f"{fmt} row {n + 1}: prompt/completion differ from context_messages/winner")
    elif fmt == "rm-r1-rl":
        kind = check_rm_r1(ds, fmt, rl=True)
    elif fmt == "reviews":
        kind = check_rows(ds, fmt, ["case_id", "reviewer", "action", "reasoning", "case_note", "collections"])
    elif fmt == "judgments":
        kind = check_rows(ds, fmt, ["case_id", "model_file", "model_sha256", "raw"])
    else:
        raise Bad(f"unknown format {fmt}")
    print(f"ok {fmt}: {len(ds)} rows, {kind}, columns {sorted(ds.column_names)}")


def main(args):
    if not args:
        print(__doc__)
        return 2
    for arg in args:
        fmt, _, path = arg.partition("=")
        try:
            check(fmt, path)
        except Bad as e:
            print(f"FAIL {e}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
