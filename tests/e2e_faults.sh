#!/bin/sh
# e2e_faults.sh - the program under injected faults (tests/test_faults.c covers kill -9 during saves and
# NaN/Inf batches in the core):
#  1. ENOSPC / EIO during `save` (tests/fault_shim.c via LD_PRELOAD fails fwrite, fflush, fsync, fclose
#     or rename of the checkpoint): one error line naming the file and the OS error, exit status 1, the
#     previous checkpoint byte-for-byte intact, no temp file left;
#  2. SIGINT at random points of `train` at the prompt (piped commands, real UCI Vertebral data; trials:
#     RESMLP_FAULT_TRIALS, default 20): the prompt comes back ("interrupted ... the model is kept"), `eval`
#     evaluates the model, a second `train` continues from the kept weights and saves, the per-epoch
#     checkpoint loads, no temp file is left;
#  3. SIGINT during `resmlp train` (CLI, real MNIST): the run saves its state, and --resume continues.
cd "$(dirname "$0")/.." || exit 1
[ -x ./resmlp ] || { echo "FAIL: ./resmlp not built"; exit 1; }
T=$(mktemp -d /tmp/rm_e2e_faults.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
cc -shared -fPIC -O1 -o "$T/fault_shim.so" tests/fault_shim.c -ldl || { echo "FAIL: cannot build the shim"; exit 1; }
# a sanitizer build (make test-asan) must have its runtime first in the library list; its interceptors
# then reach the shim's fwrite & co. through RTLD_NEXT
PRE="$T/fault_shim.so"
san=$(ldd ./resmlp 2>/dev/null | awk '/libasan\.so/ {print $3}')
[ -n "$san" ] && PRE="$san $PRE"

# ---- 1. ENOSPC / EIO during a save
printf 'model new kind=mlp layers=6-16-3\nsave %s/ck.safetensors\n' "$T" | ./resmlp > /dev/null 2>&1 || bad "first save"
cp "$T/ck.safetensors" "$T/good.safetensors"
for fault in fwrite:ENOSPC:0 fwrite:ENOSPC:100 fwrite:ENOSPC:1000 fflush:ENOSPC fsync:EIO fclose:EIO rename:EIO fwrite:EIO:500; do
    printf 'model new kind=mlp layers=6-64-3\nsave %s/ck.safetensors\n' "$T" |
        LD_PRELOAD="$PRE" RM_FAULT=$fault RM_FAULT_PATH=ck.safetensors ./resmlp > "$T/out" 2> "$T/err"
    rc=$?
    op=${fault%%:*}
    grep -q "fault_shim: $op" "$T/err" || { bad "$fault: the fault did not fire"; continue; }
    msg=$(grep -v '^fault_shim:' "$T/err")
    want="No space left on device"; case $fault in *EIO*) want="Input/output error";; esac
    [ "$rc" -eq 1 ] || bad "$fault: exit status $rc (want 1)"
    [ "$(printf '%s\n' "$msg" | wc -l)" -eq 1 ] && printf '%s' "$msg" | grep -q "ck.safetensors" &&
        printf '%s' "$msg" | grep -q "$want" || bad "$fault: want one line naming the file and '$want', got: $msg"
    cmp -s "$T/ck.safetensors" "$T/good.safetensors" || bad "$fault: the previous checkpoint changed"
    ls "$T" | grep -q 'ck.safetensors.tmp' && { bad "$fault: temp file left: $(ls "$T")"; rm -f "$T"/ck.safetensors.tmp*; }
    echo "ok $fault: $msg"
done

# ---- 2. SIGINT at random points of training at the prompt
n=${RESMLP_FAULT_TRIALS:-20}
seed=${RESMLP_FAULT_SEED:-7}
inter=0
i=0
while [ $i -lt "$n" ]; do
    i=$((i + 1))
    rm -f "$T"/run* "$T"/after*
    cat > "$T/cmds" <<EOC
data vertebral
model new kind=mlp layers=6-128-128-3
train epochs=400 batch=8 quiet=yes ckpt=$T/run.safetensors
eval
train epochs=1 quiet=yes
save $T/after.safetensors
EOC
    RESMLP_THREADS=1 ./resmlp < "$T/cmds" > "$T/out" 2>&1 &
    pid=$!
    k=0   # wait for the first epoch's checkpoint (training is running), then a random delay 0..0.3 s
    while [ ! -f "$T/run.safetensors" ] && [ $k -lt 600 ] && kill -0 $pid 2>/dev/null; do sleep 0.02; k=$((k + 1)); done
    sleep "$(awk -v s=$((seed * 1000 + i)) 'BEGIN { srand(s); printf "%.3f", rand() * 0.3 }')"
    kill -INT $pid 2>/dev/null
    wait $pid
    rc=$?
    [ $rc -eq 0 ] || bad "trial $i: exit status $rc: $(tail -n 3 "$T/out")"
    grep -q 'interrupted after' "$T/out" && inter=$((inter + 1))
    grep -q '^accuracy' "$T/out" || bad "trial $i: eval after the interrupt did not run: $(tail -n 3 "$T/out")"
    grep -q "saved $T/after.safetensors" "$T/out" || bad "trial $i: the second train / save did not run"
    ./resmlp info "$T/run.safetensors" > /dev/null 2>&1 || bad "trial $i: the per-epoch checkpoint does not load"
    ./resmlp info "$T/after.safetensors" > /dev/null 2>&1 || bad "trial $i: the model saved after resuming does not load"
    ls "$T" | grep -q '\.tmp\.' && bad "trial $i: temp file left: $(ls "$T")"
done
echo "SIGINT during train at the prompt: $n trials, $inter interrupted mid-training, eval + train + save after each"
[ "$inter" -ge $((n / 2)) ] || bad "only $inter of $n SIGINTs landed in training"

# ---- 3. SIGINT during `resmlp train` (CLI), then --resume
if [ -f ../shared/data/mnist/train-images-idx3-ubyte.gz ]; then
    set -- --dataset mnist --data ../shared/data/mnist --hidden 8 --epochs 3 --limit 512 --batch 32 --aug none --out "$T/cli.safetensors"
    ./resmlp train "$@" > "$T/out" 2>&1 &
    pid=$!
    k=0   # the first epoch's checkpoint, then stop in the middle of epoch 2 or 3
    while [ ! -f "$T/cli.safetensors" ] && [ $k -lt 3000 ] && kill -0 $pid 2>/dev/null; do sleep 0.02; k=$((k + 1)); done
    kill -INT $pid 2>/dev/null
    wait $pid
    ./resmlp info "$T/cli.safetensors" > "$T/info" 2>&1 || bad "CLI: the checkpoint after SIGINT does not load: $(cat "$T/info")"
    ./resmlp train "$@" --resume > "$T/out2" 2>&1 || bad "CLI --resume failed: $(tail -n 3 "$T/out2")"
    if grep -q 'resuming' "$T/out2"; then
        grep -q 'epoch 3/3' "$T/out2" || bad "CLI --resume did not reach epoch 3: $(tail -n 3 "$T/out2")"
        echo "ok CLI: $(grep -m1 resuming "$T/out2")"
    else
        bad "CLI --resume did not resume: $(head -n 3 "$T/out2")"
    fi
    ./resmlp eval "$T/cli.safetensors" --dataset mnist --data ../shared/data/mnist > "$T/ev" 2>&1 || bad "CLI eval after resume: $(tail -n 2 "$T/ev")"
else
    echo "SKIP (part 3): MNIST not found in ../shared/data/mnist"
fi
[ $fail -eq 0 ] && echo "e2e_faults: ok"
exit $fail
