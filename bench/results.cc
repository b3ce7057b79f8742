// Results and their JSON form (see results.h).
#include "results.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace nightjar::bench {

double ThreeDigits(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  const double scale = std::pow(10.0, 2 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}

Measurement& Results::Slot(const std::string& name) {
  for (auto& r : results_) {
    if (r.name == name) {
      r = Measurement{};
      r.name = name;
      return r;
    }
  }
  results_.push_back(Measurement{});
  results_.back().name = name;
  return results_.back();
}

Measurement& Results::AddLatency(const std::string& name, const Histogram& ns,
                                 std::map<std::string, double> extra) {
  Measurement& r = Slot(name);
  r.unit = "us";
  r.histogram = ns;
  r.samples = ns.count();
  r.p50 = ThreeDigits(static_cast<double>(ns.ValueAtPercentile(50)) / 1e3);
  r.p99 = ThreeDigits(static_cast<double>(ns.ValueAtPercentile(99)) / 1e3);
  r.p999 = ThreeDigits(static_cast<double>(ns.ValueAtPercentile(99.9)) / 1e3);
  r.mean = ThreeDigits(ns.mean() / 1e3);
  r.max = ThreeDigits(static_cast<double>(ns.max()) / 1e3);
  r.extra = std::move(extra);
  return r;
}

Measurement& Results::AddValue(const std::string& name, const std::string& unit, double value,
                               std::map<std::string, double> extra) {
  Measurement& r = Slot(name);
  r.unit = unit;
  r.value = value;
  r.extra = std::move(extra);
  return r;
}

const Measurement* Results::Find(const std::string& name) const {
  for (const auto& r : results_) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

namespace {

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string Number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.10g", v);
  return buf;
}

}  // namespace

std::string Results::ToJson(const std::string& git, const std::string& machine,
                            const std::string& mode) const {
  std::ostringstream o;
  o << "{\n  \"git\": " << Quote(git) << ",\n  \"machine\": " << Quote(machine)
    << ",\n  \"mode\": " << Quote(mode) << ",\n  \"results\": [";
  bool first = true;
  for (const auto& r : results_) {
    o << (first ? "\n" : ",\n") << "    {\"name\": " << Quote(r.name)
      << ", \"unit\": " << Quote(r.unit);
    first = false;
    if (r.is_latency()) {
      o << ", \"p50\": " << Number(r.p50) << ", \"p99\": " << Number(r.p99)
        << ", \"p999\": " << Number(r.p999) << ", \"samples\": " << r.samples
        << ", \"mean\": " << Number(r.mean) << ", \"max\": " << Number(r.max);
    } else {
      o << ", \"value\": " << Number(r.value);
    }
    for (const auto& [k, v] : r.extra) o << ", " << Quote(k) << ": " << Number(v);
    o << "}";
  }
  o << "\n  ]\n}\n";
  return o.str();
}

Status Results::WriteJson(const std::string& path, const std::string& git,
                          const std::string& machine, const std::string& mode) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ToJson(git, machine, mode);
    if (!out) return Status::FromErrno("write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno("rename " + path);
  return Status::Ok();
}

}  // namespace nightjar::bench
