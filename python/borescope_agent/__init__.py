"""borescope's in-process agent. Standard library only; runs inside the program being debugged.

Modules:
    boot     -- reads the job borescope sent and starts it
    channel  -- the Unix-socket line protocol back to borescope (transport only)
    capture  -- turns frames and values into plain, bounded data (no I/O)
    lines    -- which lines of a file hold code, from the interpreter's own compiler
    probe    -- watches lines with sys.monitoring (3.12+), rewrite or a narrow settrace (3.9-3.11)
    rewrite  -- recompiles the functions holding a requested line with a call to borescope (3.9-3.11)
    listen   -- starts debugpy inside the program for an interactive session
    session_view -- what a paused session shows (locals, drill-down, eval), by capture's rules
    remote   -- jobs run inside an already-running program through PEP 768 (attach, exec)
"""

VERSION = "0.1.0"
