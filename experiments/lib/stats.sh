# shellcheck shell=bash
# Sourced by the experiments that summarise repetitions:
#   T95_TABLE  the two-sided 95 % (0.975 one-sided) quantile of Student's t for 1..30 degrees of
#              freedom (n - 1 for n repetitions; e.g. 12.706 for n = 2, 4.303 for n = 3, 2.776
#              for n = 5), the normal's 1.960 beyond 30. From any statistics table (e.g.
#              NIST/SEMATECH e-Handbook 1.3.6.7.2). In awk: split(tq, t, " ") with -v tq=...,
#              then the CI half-width is (n - 1 <= 30 ? t[n - 1] : 1.960) * sd / sqrt(n).
# shellcheck disable=SC2034  # used by the scripts that source this
# median [FORMAT]: the median of the numbers on stdin, one per line, printed with FORMAT (awk's
# printf; default %g), or nan when there are none.
median() {
  sort -g | awk -v f="${1:-%g}" '{ v[NR] = $1 }
    END { if (NR == 0) print "nan"; else printf f "\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
T95_TABLE="12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 2.201 2.179 2.160 2.145 2.131 2.120 2.110 2.101 2.093 2.086 2.080 2.074 2.069 2.064 2.060 2.056 2.052 2.048 2.045 2.042"
