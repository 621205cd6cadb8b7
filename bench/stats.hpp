// SPDX-License-Identifier: GPL-2.0-or-later
//
// fph-bench: median and spread of repeated measurements.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace fphbench {

struct Summary {
    size_t n = 0;
    double median = std::numeric_limits<double>::quiet_NaN();
    double min = std::numeric_limits<double>::quiet_NaN();
    double max = std::numeric_limits<double>::quiet_NaN();

    bool valid() const { return n > 0; }
};

inline Summary summarize(std::vector<double> v) {
    Summary s;
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }),
            v.end());
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    s.n = v.size();
    s.min = v.front();
    s.max = v.back();
    size_t m = v.size() / 2;
    s.median = v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
    return s;
}

// "123" / "1.23" with the given number of decimals; "—" for no data.
inline std::string num(double x, int decimals = 0) {
    if (std::isnan(x))
        return "—";
    char b[64];
    std::snprintf(b, sizeof(b), "%.*f", decimals, x);
    return b;
}

// "median (min–max)", or just the median for a single sample.
inline std::string spread(const Summary &s, int decimals = 0) {
    if (!s.valid())
        return "—";
    if (s.n == 1 || num(s.min, decimals) == num(s.max, decimals))
        return num(s.median, decimals);
    return num(s.median, decimals) + " (" + num(s.min, decimals) + "–" +
           num(s.max, decimals) + ")";
}

}  // namespace fphbench
