#!/usr/bin/env python3
"""soak.py - the resmlp> prompt under a long mixed session: N commands (default 10,000) typed on a real
pseudo-terminal (readline, the prompt, Ctrl-C as the terminal's ^C), mixed from valid commands (data,
model, train, eval, save, load, info, who, help, plot, Lua), invalid ones (typos, bad values, missing
files, unknown options), Lua errors (error(), nil arithmetic, bad resmlp.* calls, runaway loops stopped
by Ctrl-C) and Ctrl-C (at the prompt, in a half-typed line, during train and during Lua). Every 100
commands (--every) the session is brought to the same state (the mix's Lua globals and extra models dropped,
`model` reloaded from the checkpoint it started as, so its training history is the same length, the data
reloaded) and the resident memory (VmRSS) sampled, with its split into brk heap, anonymous and
file-backed mappings (/proc/PID/smaps) and glibc's own in-use / free figures. Pass: the process
never dies, answers every marker, exits 0 on `quit`, and RSS after warm-up grows by less than the limit
(1 %: the median of the last tenth of the samples against the median of the tenth after warm-up; the
warm-up is the first half of the run unless --warmup says otherwise).
Usage: soak.py [N] [--limit PCT] [--warmup N] [--seed S] [--bin ./resmlp] [--json FILE]"""
import argparse, json, os, pty, random, re, select, signal, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("n", type=int, nargs="?", default=10000)
ap.add_argument("--limit", type=float, default=1.0)
ap.add_argument("--warmup", type=int, default=None, help="commands before the measured part [half of N]")
ap.add_argument("--seed", type=int, default=2023)
ap.add_argument("--bin", default="./resmlp")
ap.add_argument("--json", default=None)
ap.add_argument("--kinds", default="valid,invalid,lua,ctrl-c", help="which kinds of commands to mix")
ap.add_argument("--every", type=int, default=100, help="commands between markers / memory samples")
a = ap.parse_args()
if a.warmup is None:
    # the first half warms up: glibc's free lists, Lua's tables and readline's 1,000-entry history take
    # about 7,000 mixed commands to settle (tests/fuzz/README.md, Soak)
    a.warmup = a.n // 2
rng = random.Random(a.seed)
tmp = tempfile.mkdtemp(prefix="rm_soak.")
ck = os.path.join(tmp, "s.safetensors")
ck0 = os.path.join(tmp, "start.safetensors")   # `model` as it starts: each sample's reset reloads it

env = dict(os.environ, RESMLP_THREADS="1", OMP_NUM_THREADS="1", TERM="dumb", HOME=tmp, NO_COLOR="1", PAGER="cat")
pid, fd = pty.fork()
if pid == 0:
    os.execve(a.bin, [a.bin], env)
buf = b""

def read_until(pat, timeout):
    """read the terminal until regex pat (bytes) matches what came after the last call; True if it did"""
    global buf
    end = time.time() + timeout
    while True:
        m = re.search(pat, buf)
        if m:
            buf = buf[m.end():]
            return m
        left = end - time.time()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            buf += chunk
            if len(buf) > 1 << 20:
                buf = buf[-(1 << 16):]

def send(s):
    os.write(fd, s.encode() if isinstance(s, str) else s)

def rss_kb():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1

def rss_parts():
    """resident KiB by kind of mapping: [heap] (brk), anonymous (mmap: big buffers, thread arenas, stacks),
    file-backed (code and data of the program and its libraries)"""
    parts = {"heap": 0, "anon": 0, "file": 0}
    kind = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                head = line.split()
                if not head:
                    continue
                if not line[0].isupper() or ":" not in head[0]:   # a mapping's header line
                    name = head[5] if len(head) > 5 else ""
                    kind = "heap" if name == "[heap]" else "file" if name.startswith("/") else "anon"
                elif head[0] == "Rss:" and kind:
                    parts[kind] += int(head[1])
    except OSError:
        pass
    return parts

def alive():
    try:
        p, st = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return p == 0

marker_no = 0
# glibc heap in use / held free at the last marker (resmlp.memory()), the epoch records in the training history
# of `model` (24 bytes each, kept by design), and the Lua state's own heap (collectgarbage("count"), bytes)
heap = [None, None, None, None]
def sync(timeout=120):
    """print a marker (typed as a concatenation, so the echo of the line does not match) and wait for it"""
    global marker_no
    marker_no += 1
    for wait in (15, 60, timeout):
        send('local m_ = resmlp.memory() local w_ = resmlp.ws.model print("MAR" .. "KER%d", m_.heap_used, '
             'm_.heap_free, w_ and #w_:history() or -1, math.floor(collectgarbage("count") * 1024))\r' % marker_no)
        m = read_until(rb"MARKER%d\t(-?\d+)\t(-?\d+)\t(-?\d+)\t(-?\d+)\r?\n" % marker_no, wait)
        if m:
            heap[0], heap[1], heap[2], heap[3] = int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))
            # the next prompt comes after the command's Lua collection and malloc_trim: sample RSS then
            read_until(rb"resmlp> ", 10)
            return True
        # an unfinished Lua block (`for i = 1, 3 do` waiting for its `end`) swallowed the marker:
        # Ctrl-C drops the continuation, as a user would
        send(b"\x03")
        time.sleep(0.2)
    return False

valid = [
    "eval", "info", "who", "help train", "help", "help layers", "threads", "eval test", "eval train",
    "train epochs=1 batch=16 quiet=yes", "save %s" % ck, "load m2 %s" % ck, "model model",
    "x = resmlp.current()", "print(tostring(x):sub(1, 20))", "t = {} for i = 1, 200 do t[i] = i * i end",
    "=#(t or {})", "s = string.rep('ab', 1000)", "r = resmlp.eval()", "print(type(r))", "collectgarbage('step')",
    "plot train", "help curve", "m = resmlp.current(); print(m)", "precision", "model new kind=mlp layers=6-32-3 name=tmp",
    "model model", "who", "data vertebral", "info model",
]
invalid = [
    "traain epochs=2", "train epochs=abc", "train epochs=1 bogus=3", "model new kind=xyz", "load /nonexistent/x.safetensors",
    "eval nope", "data csv", "help nonsense", "train batch=-5 quiet=yes", "save", "load", "model new act=relux",
    "quantize bits=banana", "plot nothing", "param no.such.tensor", "eval data=", "train epochs=1 'unterminated",
    "info nosuchmodel", "threads -3", "report /nonexistent",
]
luaerr = [
    'error("boom")', "nil + 1", "resmlp.train{epochs='x'}", "resmlp.eval(42)", "local t = nil; return t.x",
    "setmetatable({}, {__index = function() error('idx') end}).a", "string.rep('x', -1):bad()",
    "resmlp.load()", "for i = 1, 3 do", "end", "(function() local function f() return f() + 1 end return f() end)()",
    "return 1 +", "x = ", "print(undefined_global.field)",
]
def ctrl_c_case():
    kind = rng.randrange(4)
    if kind == 0:   # at the prompt
        send(b"\x03")
    elif kind == 1:  # in a half-typed line
        send("train epochs=99 lr="); time.sleep(0.01); send(b"\x03")
    elif kind == 2:  # during training
        send("train epochs=200 batch=4 quiet=yes\r"); time.sleep(rng.uniform(0.05, 0.4)); send(b"\x03")
    else:            # during a Lua loop
        send("local n = 0 while true do n = n + 1 end\r"); time.sleep(rng.uniform(0.05, 0.3)); send(b"\x03")
    time.sleep(0.1)  # the terminal flushes type-ahead on ^C: let it settle before the marker

ok = read_until(rb"resmlp> ", 60)
send("data vertebral\r")
send("model new kind=mlp layers=6-32-3\r")
send("train epochs=2 quiet=yes\r")
send("save %s\r" % ck)
send("save %s\r" % ck0)
ok = ok and sync()
hist0 = heap[2]
# the mix: 50 % valid, 22 % invalid, 23 % Lua errors, 5 % Ctrl-C (--kinds narrows it, e.g. to find which kind grows)
weights = [(k, w) for k, w in (("valid", 0.5), ("invalid", 0.22), ("lua", 0.23), ("ctrl-c", 0.05))
           if k in a.kinds.split(",")]
cum, wsum = [], 0.0
for k, w in weights:
    wsum += w
    cum.append((k, wsum))
samples = []
counts = {"valid": 0, "invalid": 0, "lua": 0, "ctrl-c": 0}
t0 = time.time()
died = None
i = 0
while i < a.n and ok:
    for _ in range(min(a.every, a.n - i)):
        r = rng.random() * wsum
        kind = next((k for k, w in cum if r < w), "ctrl-c")
        if kind == "valid":
            send(rng.choice(valid) + "\r"); counts["valid"] += 1
        elif kind == "invalid":
            send(rng.choice(invalid) + "\r"); counts["invalid"] += 1
        elif kind == "lua":
            send(rng.choice(luaerr) + "\r"); counts["lua"] += 1
        else:
            ok = sync()   # a Ctrl-C flushes type-ahead: everything before it must have run
            if not ok:
                break
            ctrl_c_case(); counts["ctrl-c"] += 1
        i += 1
    if ok:
        # sample at the same session state each time: the mix's transient objects dropped (Lua globals
        # it assigns, the models `model new name=tmp` and `load m2` add), `model` reloaded as it started
        # (its training history, 24 bytes per epoch, would otherwise grow by design: the Ctrl-C-during-train
        # cases train thousands of 4-image epochs) and current, the data reloaded. The live working set then
        # is the same at every sample, so what RSS gains is what the session retained: leaks, allocator
        # fragmentation, grown buffers. A marker first: the mix may end inside an unfinished Lua block
        # (`for i = 1, 3 do`), which would swallow the reset; sync() answers only at a clean prompt.
        ok = sync()
        if not ok:
            break
        send("t, s, r, x, m, _ = nil; resmlp.ws.tmp = nil; resmlp.ws.m2 = nil\r")
        send("load model %s\r" % ck0)
        send("model model\r")
        send("data vertebral\r")
        ok = sync()
    if not alive():
        died = "process died"
        ok = False
        break
    if ok:
        pp = rss_parts()
        samples.append((i, rss_kb(), heap[0] // 1024, heap[1] // 1024, pp["heap"], pp["anon"], pp["file"], heap[2],
                        heap[3] // 1024))
        if heap[2] != hist0:   # the reset must bring `model` back as it started, or the samples are not comparable
            died = "the reset did not take: `model` has %d epochs of history, not %d" % (heap[2], hist0)
            ok = False
            break
        if len(samples) % 10 == 0:
            print("  %6d commands  rss %d KiB (brk heap %d, anon %d, files %d)  malloc in use %d KiB (Lua %d), "
                  "free %d KiB, %d epochs of history  %.0f s"
                  % (i, samples[-1][1], pp["heap"], pp["anon"], pp["file"], samples[-1][2], samples[-1][8],
                     samples[-1][3], heap[2], time.time() - t0), flush=True)
elapsed = time.time() - t0
exit_code = None
if ok:
    send("quit\r")
    end = time.time() + 30
    while time.time() < end:
        try:
            p, st = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            break
        if p:
            exit_code = os.waitstatus_to_exitcode(st)
            break
        try:
            select.select([fd], [], [], 0.2) and os.read(fd, 65536)
        except OSError:
            pass
if exit_code is None and alive():
    os.kill(pid, signal.SIGKILL)
post = [s for s in samples if s[0] > a.warmup]
growth = heap_growth = None
if len(post) >= 20:
    k = max(3, len(post) // 10)
    med = lambda v: sorted(v)[len(v) // 2]
    base, last = med([s[1] for s in post[:k]]), med([s[1] for s in post[-k:]])
    growth = 100.0 * (last - base) / base
    hbase, hlast = med([s[2] for s in post[:k]]), med([s[2] for s in post[-k:]])
    heap_growth = 100.0 * (hlast - hbase) / max(hbase, 1)
res = {"commands": i, "counts": counts, "seconds": round(elapsed, 1), "exit_code": exit_code,
       "rss_first_kib": samples[0][1] if samples else None, "rss_last_kib": samples[-1][1] if samples else None,
       "rss_growth_after_warmup_pct": None if growth is None else round(growth, 3),
       "history_epochs_first_last": [post[0][7], post[-1][7]] if post else None,
       "heap_used_growth_after_warmup_pct": None if heap_growth is None else round(heap_growth, 3), "warmup": a.warmup,
       "samples": len(samples), "failure": died or (None if ok else "no answer to a marker")}
print(json.dumps(res))
if a.json:
    with open(a.json, "w") as f:
        json.dump(dict(res, rss=samples), f)
fail = not ok or exit_code != 0 or (growth is not None and growth >= a.limit)
if growth is None and a.n > a.warmup:
    fail = True
print("soak: %s" % ("FAIL" if fail else "ok"))
sys.exit(1 if fail else 0)
