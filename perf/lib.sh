# Shell helpers shared by the perf runners (sourced, not run).

# Ready = answers an ApiVersions request. (Right after a broker stops, its io_uring listener can linger for
# a moment while the kernel tears it down, accepting connections nobody serves: an open port proves nothing.)
answers() {
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 &&
    printf '\\x00\\x00\\x00\\x0f\\x00\\x12\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x05ready' >&3 &&
    head -c 4 <&3 >/dev/null" 2>/dev/null
}

# Waits until something answers on port $1 (up to $2 tenths of a second, default 100).
wait_answers() {
  local i
  for ((i = 0; i < ${2:-100}; i++)); do answers "$1" && return 0; sleep 0.1; done
  return 1
}

# CPU seconds (user + system) process $1 has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }

# Resident set now, and its peak since the process started, in KiB.
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
peak_rss_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# Appends process $1's RSS (KiB) to file $2 every 0.2 s until the process is gone or the sampler is killed.
sample_rss() { while rss_kib "$1" >>"$2" 2>/dev/null; do sleep 0.2; done; }
