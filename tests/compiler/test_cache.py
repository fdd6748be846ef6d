"""The compiler's program cache: least recently used entries go first once the instruction budget is spent."""

from compiler.cache import ProgramCache


def test_lru_entries_are_evicted_past_the_instruction_budget():
    c = ProgramCache(max_instructions=100)
    c.put("a", "A", 40)
    c.put("b", "B", 40)
    assert c.get("a") == "A"  # a is now the most recent
    c.put("c", "C", 40)  # 120 > 100: b (least recent) goes
    assert "b" not in c and c.get("a") == "A" and c.get("c") == "C" and c.instructions == 80
    c.put("big", "X", 500)  # larger than the budget: kept alone (the newest entry always stays)
    assert len(c) == 1 and c.get("big") == "X" and c.instructions == 500
    c.put("big", "Y", 10)  # replacing an entry re-weighs it
    assert c.get("big") == "Y" and c.instructions == 10
    assert c.get("missing", 7) == 7
