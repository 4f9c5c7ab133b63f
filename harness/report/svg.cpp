#include "harness/report/svg.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "harness/report/html_sections.h"

namespace fl::report::svg {
namespace {

// Pixel values with one decimal, trailing ".0" dropped: keeps big plots small.
std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  double r = std::round(v * 10) / 10;
  if (r == std::floor(r)) return fmt::format("{}", static_cast<long long>(r));
  return fmt::format("{:.1f}", r);
}

double nice_step(double range, int target) {
  if (range <= 0 || target <= 0) return 1;
  double raw = range / target;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  double m = raw / p;
  double step = m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10;
  return step * p;
}

std::string title_el(std::string_view title) {
  if (title.empty()) return {};
  return "<title>" + html_escape(title) + "</title>";
}

std::string marker_path(double x, double y, Shape shape, double r) {
  switch (shape) {
    case Shape::circle:
      return fmt::format(R"(<circle cx="{}" cy="{}" r="{}")", num(x), num(y), num(r));
    case Shape::square:
      return fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}")", num(x - r), num(y - r),
                         num(2 * r), num(2 * r));
    case Shape::triangle:
      return fmt::format(R"(<path d="M{} {}l{} {}h{}z")", num(x), num(y - r * 1.2), num(r * 1.2),
                         num(r * 2), num(-r * 2.4));
    case Shape::diamond:
      return fmt::format(R"(<path d="M{} {}l{} {} {} {} {} {}z")", num(x), num(y - r * 1.3),
                         num(r * 1.3), num(r * 1.3), num(-r * 1.3), num(r * 1.3), num(-r * 1.3),
                         num(-r * 1.3));
    case Shape::cross:
      return fmt::format(R"(<path class="x" d="M{} {}l{} {}m0 {}l{} {}")", num(x - r), num(y - r),
                         num(2 * r), num(2 * r), num(-2 * r), num(-2 * r), num(2 * r));
  }
  return {};
}

}  // namespace

double Scale::map(double v, double px0, double px1) const {
  double a = lo, b = hi, t = v;
  if (log) {
    a = std::log10(std::max(lo, 1e-300));
    b = std::log10(std::max(hi, 1e-300));
    t = std::log10(std::max(v, 1e-300));
  }
  if (b == a) return (px0 + px1) / 2;
  return px0 + (t - a) / (b - a) * (px1 - px0);
}

std::string short_number(double v) {
  double a = std::fabs(v);
  auto trim = [](std::string s) {
    if (s.find('.') != std::string::npos) {
      while (!s.empty() && s.back() == '0') s.pop_back();
      if (!s.empty() && s.back() == '.') s.pop_back();
    }
    return s;
  };
  if (a >= 1e9) return trim(fmt::format("{:.2f}", v / 1e9)) + "G";
  if (a >= 1e6) return trim(fmt::format("{:.2f}", v / 1e6)) + "M";
  if (a >= 1e4) return trim(fmt::format("{:.1f}", v / 1e3)) + "k";
  if (a >= 1000) return trim(fmt::format("{:.2f}", v / 1e3)) + "k";
  if (a == 0) return "0";
  if (a < 0.01) return trim(fmt::format("{:.4f}", v));
  return trim(fmt::format("{:.2f}", v));
}

namespace {
// Three significant digits at most: "444µs", "3.14s", "12.5ms".
std::string three_digits(double v) {
  std::string s = fmt::format("{:.{}f}", v, v >= 100 ? 0 : v >= 10 ? 1 : 2);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}
}  // namespace

std::string duration_label(double ms) {
  if (ms < 0.001) return three_digits(ms * 1e6) + "ns";
  if (ms < 1) return three_digits(ms * 1000) + "µs";
  if (ms < 1000) return three_digits(ms) + "ms";
  return three_digits(ms / 1000) + "s";
}

std::vector<Tick> linear_ticks(double lo, double hi, int target) {
  std::vector<Tick> out;
  if (!(hi > lo)) return {{lo, short_number(lo), true}};
  double step = nice_step(hi - lo, target);
  double first = std::ceil(lo / step - 1e-9) * step;
  for (double v = first; v <= hi + step * 1e-9; v += step) {
    double r = std::fabs(v) < step * 1e-9 ? 0 : v;
    out.push_back({r, short_number(r), true});
    if (out.size() > 100) break;
  }
  return out;
}

std::vector<Tick> log_ticks(double lo, double hi, std::string_view unit) {
  std::vector<Tick> out;
  if (!(lo > 0) || !(hi > lo)) return out;
  const int d0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  const int d1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  const bool label_minor = d1 - d0 <= 3;
  for (int d = d0; d <= d1; ++d) {
    for (int m : {1, 2, 5}) {
      double v = m * std::pow(10.0, d);
      if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
      const bool major = m == 1;
      std::string label;
      if (major || label_minor) label = unit == "ms" ? duration_label(v) : short_number(v);
      if (!label.empty() && unit != "ms") label += unit;
      out.push_back({v, label, major || label_minor});
    }
  }
  return out;
}

Scale nice_linear(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  double step = nice_step(hi - lo, target);
  return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, false};
}

Scale nice_log(double lo, double hi) {
  lo = std::max(lo, 1e-9);
  if (!(hi > lo)) hi = lo * 10;
  return {std::pow(10.0, std::floor(std::log10(lo) + 1e-9)),
          std::pow(10.0, std::ceil(std::log10(hi) - 1e-9)), true};
}

Shape shape_for(size_t n) {
  static constexpr Shape kShapes[] = {Shape::circle, Shape::square, Shape::triangle, Shape::diamond,
                                      Shape::cross};
  return kShapes[n % std::size(kShapes)];
}

Chart::Chart(Options options, Scale x, Scale y) : o_(std::move(options)), x_(x), y_(y) {
  x_ticks_ = x_.log ? log_ticks(x_.lo, x_.hi) : linear_ticks(x_.lo, x_.hi, o_.width / 110);
  y_ticks_ = y_.log ? log_ticks(y_.lo, y_.hi) : linear_ticks(y_.lo, y_.hi, 5);
}

double Chart::px(double x) const { return x_.map(x, plot_left(), plot_right()); }
double Chart::py(double y) const { return y_.map(y, plot_bottom(), plot_top()); }

void Chart::band(double x0, double x1, std::string_view css_class, std::string_view title,
                 std::string_view label, int label_row) {
  double a = std::clamp(px(x0), plot_left(), plot_right());
  double b = std::clamp(px(x1), plot_left(), plot_right());
  back_ += fmt::format(R"(<rect class="{}" x="{}" y="{}" width="{}" height="{}">{}</rect>)",
                       css_class, num(a), num(plot_top()), num(std::max(b - a, 1.0)),
                       num(plot_bottom() - plot_top()), title_el(title));
  if (!label.empty()) {
    front_ += fmt::format(R"(<text class="band-label" x="{}" y="{}">{}</text>)", num(a + 3),
                          num(plot_top() + 11 + 12 * label_row), html_escape(label));
  }
}

void Chart::rect(double x0, double x1, double y0, double y1, std::string_view css_class,
                 std::string_view title) {
  double a = px(x0), b = px(x1), c = py(y1), d = py(y0);
  if (c > d) std::swap(c, d);
  data_ +=
      fmt::format(R"(<rect class="{}" x="{}" y="{}" width="{}" height="{}">{}</rect>)", css_class,
                  num(a), num(c), num(std::max(b - a, 0.5)), num(d - c), title_el(title));
}

void Chart::rect_px_y(double x0, double x1, double top, double height, std::string_view css_class,
                      std::string_view title) {
  double a = std::clamp(px(x0), plot_left(), plot_right());
  double b = std::clamp(px(x1), plot_left(), plot_right());
  data_ +=
      fmt::format(R"(<rect class="{}" x="{}" y="{}" width="{}" height="{}">{}</rect>)", css_class,
                  num(a), num(top), num(std::max(b - a, 0.5)), num(height), title_el(title));
}

void Chart::polyline(const std::vector<std::pair<double, double>>& points,
                     std::string_view css_class, std::string_view title) {
  std::string d;
  bool pen_down = false;
  for (const auto& [x, y] : points) {
    if (std::isnan(x) || std::isnan(y)) {
      pen_down = false;
      continue;
    }
    d += fmt::format("{}{} {}", pen_down ? "L" : "M", num(px(x)), num(py(y)));
    pen_down = true;
  }
  if (d.empty()) return;
  data_ += fmt::format(R"(<path class="{}" d="{}">{}</path>)", css_class, d, title_el(title));
}

void Chart::marker(double x, double y, Shape shape, std::string_view css_class,
                   std::string_view title) {
  data_ += marker_path(px(x), py(y), shape, 2.2);
  data_ += fmt::format(R"( class="{}")", css_class);
  if (title.empty()) {
    data_ += "/>";
  } else {
    data_ += ">" + title_el(title);
    switch (shape) {
      case Shape::circle:
        data_ += "</circle>";
        break;
      case Shape::square:
        data_ += "</rect>";
        break;
      default:
        data_ += "</path>";
        break;
    }
  }
}

void Chart::vline(double x, std::string_view css_class, std::string_view label) {
  double a = px(x);
  if (a < plot_left() - 0.5 || a > plot_right() + 0.5) return;
  back_ += fmt::format(R"(<line class="{}" x1="{}" x2="{}" y1="{}" y2="{}"/>)", css_class, num(a),
                       num(a), num(plot_top()), num(plot_bottom()));
  if (!label.empty()) {
    // Near the right edge the label goes to the line's left.
    const double w = 6.0 * static_cast<double>(label.size());
    const bool left = a > plot_right() - w - 6;
    const double x0 = left ? a - 3 - w : a + 3, x1 = x0 + w;
    vline_row_ = x0 < vline_label_right_ + 4 && x1 > vline_label_left_ - 4 ? vline_row_ + 1 : 0;
    vline_label_left_ = x0;
    vline_label_right_ = x1;
    front_ += fmt::format(R"(<text class="vline-label" x="{}" y="{}" text-anchor="{}">{}</text>)",
                          num(left ? a - 3 : a + 3), num(plot_bottom() - 4 - 12 * vline_row_),
                          left ? "end" : "start", html_escape(label));
  }
}

void Chart::row_label(double y_px, std::string_view text) {
  front_ += fmt::format(R"(<text class="row-label" x="{}" y="{}" text-anchor="end">{}</text>)",
                        num(plot_left() - 6), num(y_px), html_escape(text));
}

void Chart::text(double x_px, double y_px, std::string_view text, std::string_view css_class,
                 std::string_view anchor) {
  front_ += fmt::format(R"(<text class="{}" x="{}" y="{}" text-anchor="{}">{}</text>)", css_class,
                        num(x_px), num(y_px), anchor, html_escape(text));
}

std::string Chart::axes() const {
  std::string s = "<g class=\"axes\">";
  if (o_.y_ticks) {
    for (const auto& t : y_ticks_) {
      double y = py(t.value);
      if (y < plot_top() - 0.5 || y > plot_bottom() + 0.5) continue;
      if (o_.y_grid) {
        s += fmt::format(R"(<line class="{}" x1="{}" x2="{}" y1="{}" y2="{}"/>)",
                         t.major ? "grid" : "grid minor", num(plot_left()), num(plot_right()),
                         num(y), num(y));
      }
      if (!t.label.empty()) {
        s += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>)",
                         num(plot_left() - 6), num(y + 4), html_escape(t.label));
      }
    }
  }
  if (o_.x_ticks) {
    for (const auto& t : x_ticks_) {
      double x = px(t.value);
      if (x < plot_left() - 0.5 || x > plot_right() + 0.5) continue;
      if (o_.x_grid) {
        s += fmt::format(R"(<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>)", num(x), num(x),
                         num(plot_top()), num(plot_bottom()));
      }
      s += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>)", num(x),
                       num(plot_bottom() + 15), html_escape(t.label));
    }
  }
  s += fmt::format(R"(<rect class="frame" x="{}" y="{}" width="{}" height="{}"/>)",
                   num(plot_left()), num(plot_top()), num(plot_right() - plot_left()),
                   num(plot_bottom() - plot_top()));
  if (!o_.x_label.empty()) {
    s += fmt::format(R"(<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>)",
                     num((plot_left() + plot_right()) / 2), num(o_.height - 6),
                     html_escape(o_.x_label));
  }
  if (!o_.y_label.empty()) {
    double cy = (plot_top() + plot_bottom()) / 2;
    s += fmt::format(
        R"svg(<text class="axis-label" x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>)svg",
        num(cy), num(cy), html_escape(o_.y_label));
  }
  return s + "</g>";
}

std::string Chart::legend_svg() const {
  if (legend_.empty()) return {};
  // Laid out right to left from the plot's right edge; widths estimated from the label length.
  std::string s = "<g class=\"legend\">";
  double x = plot_right();
  const double y = plot_top() - 12;
  for (auto it = legend_.rbegin(); it != legend_.rend(); ++it) {
    double w = 6.3 * static_cast<double>(it->label.size()) +
               (it->swatch == LegendEntry::Swatch::line ? 34 : 28);
    x -= w;
    switch (it->swatch) {
      case LegendEntry::Swatch::box:
        s += fmt::format(R"(<rect class="{}" x="{}" y="{}" width="12" height="10"/>)",
                         it->css_class, num(x), num(y - 5));
        break;
      case LegendEntry::Swatch::line:
        s += fmt::format(R"(<path class="{}" d="M{} {}h16"/>)", it->css_class, num(x - 4), num(y));
        break;
      case LegendEntry::Swatch::marker:
        s += marker_path(x + 6, y, it->shape, 3.5) + fmt::format(R"( class="{}"/>)", it->css_class);
        break;
    }
    s += fmt::format(R"(<text class="legend-label" x="{}" y="{}">{}</text>)", num(x + 17),
                     num(y + 4), html_escape(it->label));
  }
  return s + "</g>";
}

std::string Chart::finish() const {
  const std::string clip = o_.id + "-clip";
  std::string s = fmt::format(
      R"(<svg id="{}" class="{}" viewBox="0 0 {} {}" width="{}" height="{}" role="img">)",
      html_escape(o_.id), o_.css_class, o_.width, o_.height, o_.width, o_.height);
  s += title_el(o_.title);
  s += fmt::format(R"(<defs><clipPath id="{}"><rect x="{}" y="{}" width="{}" height="{}"/>)"
                   R"(</clipPath></defs>)",
                   html_escape(clip), num(plot_left()), num(plot_top() - 3),
                   num(plot_right() - plot_left()), num(plot_bottom() - plot_top() + 6));
  s += fmt::format(R"(<text class="chart-title" x="{}" y="16">{}</text>)", num(plot_left()),
                   html_escape(o_.title));
  s += axes();
  s += "<g class=\"bands\">" + back_ + "</g>";
  s += fmt::format(R"svg(<g class="data" clip-path="url(#{})">)svg", html_escape(clip)) + data_ +
       "</g>";
  s += "<g class=\"labels\">" + front_ + "</g>";
  s += legend_svg();
  return s + "</svg>";
}

std::string marker_swatch(Shape shape, std::string_view css_class) {
  return R"(<svg class="swatch" width="12" height="12" viewBox="0 0 12 12">)" +
         marker_path(6, 6, shape, 4) + fmt::format(R"( class="{}"/></svg>)", css_class);
}

}  // namespace fl::report::svg
