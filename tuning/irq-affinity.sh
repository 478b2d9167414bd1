#!/usr/bin/env bash
# Spreads a NIC's interrupts over the CPUs that run no shardlog shard, so packet processing never
# preempts a shard. Prints what it would do unless --apply is given (then it needs root).
#
# usage: tuning/irq-affinity.sh [--dry-run | --apply] NIC [SHARD_CPUS]
#   NIC         network interface, e.g. eth0 (its IRQs are found in /sys/class/net/NIC/device/msi_irqs
#               or, failing that, by name in /proc/interrupts)
#   SHARD_CPUS  CPUs the shards run on, e.g. 0-5 or 2,4,6; default: read from the running broker
#               (its threads named shard-N are each pinned to one CPU)
#
# Stop irqbalance first (`systemctl disable --now irqbalance`) or it will move the IRQs back, or ban the
# shard CPUs in its config instead of running this script. Affinity does not survive a reboot or a NIC
# reset: run it from a systemd unit after shardlog.service if you rely on it.
set -euo pipefail

mode=dry-run
args=()
for a in "$@"; do
    case "$a" in
        --dry-run) mode=dry-run ;;
        --apply) mode=apply ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $a" >&2; exit 2 ;;
        *) args+=("$a") ;;
    esac
done
[ "${#args[@]}" -ge 1 ] && [ "${#args[@]}" -le 2 ] || { echo "usage: $0 [--dry-run|--apply] NIC [SHARD_CPUS]" >&2; exit 2; }
nic=${args[0]}

# "0-3,6" -> "0 1 2 3 6"
expand() {
    local part out=()
    IFS=',' read -ra parts <<< "$1"
    for part in "${parts[@]}"; do
        [ -z "$part" ] && continue
        if [[ $part == *-* ]]; then
            out+=($(seq "${part%-*}" "${part#*-}"))
        else
            out+=("$part")
        fi
    done
    echo "${out[@]}"
}

shard_cpus_of_running_broker() {
    local pid task comm allowed cpus=()
    pid=$(pgrep -xo shardlog) || { echo "no running shardlog process: give SHARD_CPUS" >&2; return 1; }
    for task in /proc/"$pid"/task/*; do
        comm=$(cat "$task/comm" 2>/dev/null) || continue
        [[ $comm =~ ^shard-[0-9]+$ ]] || continue
        allowed=$(awk '/^Cpus_allowed_list:/ {print $2}' "$task/status")
        [[ $allowed =~ ^[0-9]+$ ]] && cpus+=("$allowed")
    done
    [ "${#cpus[@]}" -gt 0 ] || { echo "shardlog (pid $pid) has no pinned shard threads" >&2; return 1; }
    local IFS=,
    echo "${cpus[*]}"
}

if [ "${#args[@]}" -eq 2 ]; then
    shard_list=${args[1]}
else
    shard_list=$(shard_cpus_of_running_broker)
fi
read -ra shard_cpus <<< "$(expand "$shard_list")"
read -ra online <<< "$(expand "$(cat /sys/devices/system/cpu/online)")"

irq_cpus=()
for c in "${online[@]}"; do
    [[ " ${shard_cpus[*]} " == *" $c "* ]] || irq_cpus+=("$c")
done
if [ "${#irq_cpus[@]}" -eq 0 ]; then
    echo "every online CPU (${online[*]}) runs a shard: no CPU is left for $nic's interrupts." >&2
    echo "Run the broker with fewer shards (--shards / shardlog.shards) to leave at least one." >&2
    exit 1
fi

irqs=()
msi=""
# A PCI NIC has msi_irqs on its device; a virtio NIC on the PCI device above it.
for d in "/sys/class/net/$nic/device/msi_irqs" "/sys/class/net/$nic/device/../msi_irqs"; do
    if [ -d "$d" ]; then msi=$d; break; fi
done
if [ -n "$msi" ]; then
    for f in "$msi"/*; do irqs+=("$(basename "$f")"); done
else
    while read -r irq _; do irqs+=("${irq%:}"); done < <(grep -E "[[:space:]]$nic([-_:].*)?$" /proc/interrupts || true)
fi
[ "${#irqs[@]}" -gt 0 ] || { echo "no IRQs found for $nic (virtual NIC? check /proc/interrupts)" >&2; exit 1; }

if [ "$mode" = apply ] && [ "$(id -u)" -ne 0 ]; then
    echo "--apply writes /proc/irq/*/smp_affinity_list and needs root" >&2
    exit 1
fi
if pgrep -x irqbalance > /dev/null; then
    echo "warning: irqbalance is running and will move these IRQs again (systemctl disable --now irqbalance)" >&2
fi

echo "$nic: ${#irqs[@]} IRQs; shard CPUs: ${shard_cpus[*]}; IRQ CPUs: ${irq_cpus[*]} ($mode)"
i=0
for irq in "${irqs[@]}"; do
    cpu=${irq_cpus[$((i % ${#irq_cpus[@]}))]}
    i=$((i + 1))
    target=/proc/irq/$irq/smp_affinity_list
    [ -e "$target" ] || continue
    if [ "$mode" = apply ]; then
        if echo "$cpu" > "$target" 2>/dev/null; then
            echo "IRQ $irq -> CPU $cpu"
        else
            echo "IRQ $irq: kernel refused CPU $cpu (managed IRQ?), left at $(cat "$target")" >&2
        fi
    else
        echo "would set IRQ $irq -> CPU $cpu   (echo $cpu > $target; now $(cat "$target"))"
    fi
done
