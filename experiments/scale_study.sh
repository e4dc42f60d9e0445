#!/usr/bin/env bash
# Issue 18's studies at scale, simulated (gradwire sim, phantom payloads): BSP, ASP and R2SP
# with ResNet-50 (and VGG-16) traffic, each with overlap, P3's priority order, global priority
# and (R2SP) turns per rack, on a 4:1 oversubscribed leaf-spine and on a k-ary fat-tree, at
# each worker count. One experiments/dnn_traffic.sh --sim per fabric and count, into
# OUT/dnn-<fabric>-<models>-<workers>/ (its runs.csv, summary.csv, plot, README).
#
# Usage: experiments/scale_study.sh [--out DIR] [--workers "64 256"] [--models "resnet50"]
#          [--fabrics "leaf-spine fat-tree"] [--syncs "bsp asp r2sp"] [--schemes "..."]
#          [--iterations 8] [--dry-run]
#   --out DIR        results folder (default results/scale)
#   --workers "N.."  worker counts (default "64 256")
#   --models "M.."   zoo models (default resnet50)
#   --fabrics "F.."  leaf-spine | fat-tree (default both): 10 Gbit/s links of 10 us, 4 servers;
#                    leaf-spine: N/16 leaves (at least 4) of 4 spines, 4:1 (racks = leaves);
#                    fat-tree: the smallest even k whose k^3/4 hosts hold N + 4
#   --syncs "S.."    sync rules (default "bsp asp r2sp"); ASP costs the most to simulate (its
#                    workers' pushes never line up: a 256-worker cell took ~9 min of CPU)
#   --schemes "S.."  dnn_traffic.sh's schemes (default "overlap priority global-priority
#                    rack-turns"; rack-turns only where racks exist); global priority costs the
#                    most to simulate at 1,024 workers (one grant at a time per server link)
#   --iterations I   per job (default 8); the first 5 (R2SP's BSP warm-up) are not measured
#   --dry-run        print the dnn_traffic.sh commands and run none
# GRADWIRE=path/to/gradwire (default build/apps/gradwire/gradwire). A simulation repeats
# itself: one repetition per cell.
set -euo pipefail
out=results/scale workers="64 256" models=resnet50 fabrics="leaf-spine fat-tree" iterations=8 dry=""
syncs="bsp asp r2sp" schemes="overlap priority global-priority rack-turns"
usage='usage: experiments/scale_study.sh [--out DIR] [--workers "N.."] [--models "M.."] [--fabrics "F.."] [--syncs "S.."] [--schemes "S.."] [--iterations I] [--dry-run]'
while (($#)); do
  case $1 in
    --dry-run) dry=1 ;;
    --out | --workers | --models | --fabrics | --syncs | --schemes | --iterations)
      (($# >= 2)) || { echo "scale_study.sh: $1 needs a value; $usage" >&2; exit 2; }
      case $1 in
        --out) out=$2 ;; --workers) workers=$2 ;; --models) models=$2 ;;
        --fabrics) fabrics=$2 ;; --syncs) syncs=$2 ;; --schemes) schemes=$2 ;;
        --iterations) iterations=$2 ;;
      esac
      shift ;;
    *) echo "scale_study.sh: unknown argument '$1'; $usage" >&2; exit 2 ;;
  esac
  shift
done
if ! [[ $iterations =~ ^[0-9]+$ ]] || ((iterations <= 5)); then
  echo "scale_study.sh: --iterations must exceed R2SP's 5 warm-up iterations" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
# Servers sharding the model: a thousand workers' pushes into one server's link would measure
# only that link.
servers=4
for n in $workers; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "scale_study.sh: worker count '$n' is not a positive integer" >&2; exit 2; }
  for f in $fabrics; do
    case $f in
      leaf-spine)
        leaves=$((n / 16 < 4 ? 4 : n / 16))
        fabric=leaf-spine:leaves=$leaves,spines=4,oversub=4,rate=10Gbps,latency=10us
        racks=(--rack-of leaves) ;;
      fat-tree)
        k=2
        while ((k * k * k / 4 < n + servers)); do k=$((k + 2)); done
        fabric=fat-tree:k=$k,rate=10Gbps,latency=10us
        racks=() ;;
      *) echo "scale_study.sh: unknown fabric '$f' (leaf-spine or fat-tree)" >&2; exit 2 ;;
    esac
    job=(experiments/dnn_traffic.sh --sim --fabric "$fabric" --servers "$servers" "${racks[@]}"
      --models "$models" --workers "$n" --syncs "$syncs"
      --schemes "$schemes" --iterations "$iterations"
      --warmup 5 --reps 1 --out "$out/dnn-$f-${models// /-}-$n")
    if [[ -n $dry ]]; then
      echo "${job[*]}"
    else
      echo "scale_study.sh: $f, $n workers: ${job[*]}" >&2
      "${job[@]}"
    fi
  done
done
