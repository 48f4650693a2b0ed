"""Secrets hard-coded in source lines shown with a snapshot are hidden."""

def test_source_lines_hide_literals_next_to_secret_names():
    from borescope_agent import capture

    assert capture.redact_source_line('    password = "hunter2"') == '    password = "<redacted>"'
    assert capture.redact_source_line("conf = {'api_key': 'ak-1', 'name': 'x'}") == "conf = {'api_key': '<redacted>', 'name': 'x'}"
    assert capture.redact_source_line('connect(user="ada", secret=r"s3cr")') == 'connect(user="ada", secret=r"<redacted>")'
    assert capture.redact_source_line('print("password = hunter")') == 'print("password = hunter")'
    assert capture.redact_source_line("colour = 'red'", frozenset({"colour"})) == "colour = '<redacted>'"
