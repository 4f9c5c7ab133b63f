// A small SVG chart writer for report.html (and any other page that plots numbers): linear and
// log axes with nice ticks, a time axis in seconds, points, polylines, rectangles, bands, legends,
// and <title> tooltips. It writes text only; styling is by CSS class, so the page decides colours.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fl::report::svg {

// A mapping of data values onto a pixel range. Log scales need lo > 0.
struct Scale {
  double lo = 0, hi = 1;
  bool log = false;
  // `v` in pixels between px0 (at lo) and px1 (at hi); values outside are not clamped.
  double map(double v, double px0, double px1) const;
};

struct Tick {
  double value = 0;
  std::string label;
  bool major = true;  // minor ticks draw a faint grid line and no label
};

// Ticks at 1, 2 or 5 times a power of ten, about `target` of them, inside [lo, hi].
std::vector<Tick> linear_ticks(double lo, double hi, int target = 6);
// Ticks at powers of ten (labelled) with 2 and 5 between them (labelled when the range spans at
// most three decades), inside [lo, hi]. `unit` is appended to the labels.
std::vector<Tick> log_ticks(double lo, double hi, std::string_view unit = {});
// "0", "0.5", "1.25k", "3M": short labels for axis values.
std::string short_number(double v);
// A duration given in milliseconds as a short label: "250µs", "12ms", "1.5s".
std::string duration_label(double ms);
// Scale bounds padded out to tick values: [lo, hi] grows to the nearest nice numbers.
Scale nice_linear(double lo, double hi, int target = 6);
Scale nice_log(double lo, double hi);

enum class Shape { circle, square, triangle, diamond, cross };
// The n-th marker shape (cycles), for distinguishing series such as operation kinds.
Shape shape_for(size_t n);

struct LegendEntry {
  std::string label;
  std::string css_class;  // applied to the swatch
  enum class Swatch { box, line, marker } swatch = Swatch::box;
  Shape shape = Shape::circle;  // for Swatch::marker
};

// One chart: an <svg> with a plot area inside margins, axes drawn when finished.
class Chart {
 public:
  struct Options {
    std::string id;     // the <svg id>
    std::string title;  // the <svg>'s <title> (also shown as a heading inside the chart)
    int width = 1200, height = 320;
    int margin_left = 70, margin_right = 20, margin_top = 34, margin_bottom = 40;
    std::string x_label, y_label;
    bool x_grid = true, y_grid = true;
    // Draw the axes' tick labels (off for a categorical axis drawn with row_label()).
    bool x_ticks = true, y_ticks = true;
    std::string css_class = "chart";
  };
  Chart(Options options, Scale x, Scale y);

  // Pixel coordinates of data values.
  double px(double x) const;
  double py(double y) const;
  double plot_left() const { return o_.margin_left; }
  double plot_right() const { return o_.width - o_.margin_right; }
  double plot_top() const { return o_.margin_top; }
  double plot_bottom() const { return o_.height - o_.margin_bottom; }

  // Replaces the tick lists (default: linear_ticks/log_ticks of the scales).
  void set_x_ticks(std::vector<Tick> t) { x_ticks_ = std::move(t); }
  void set_y_ticks(std::vector<Tick> t) { y_ticks_ = std::move(t); }

  // A full-height band from x0 to x1 (data units) behind the data: fault windows, phases. The
  // label is written at the band's top when `label` is not empty; `title` is its tooltip.
  // `label_row` moves the label down by rows, so labels of neighbouring bands do not overlap.
  void band(double x0, double x1, std::string_view css_class, std::string_view title,
            std::string_view label = {}, int label_row = 0);
  // A rectangle in data units, with an optional tooltip.
  void rect(double x0, double x1, double y0, double y1, std::string_view css_class,
            std::string_view title = {});
  // A rectangle in data units on x and pixels on y (rows of a strip chart).
  void rect_px_y(double x0, double x1, double top, double height, std::string_view css_class,
                 std::string_view title = {});
  // A polyline through the points (data units); points with a NaN coordinate break the line.
  void polyline(const std::vector<std::pair<double, double>>& points, std::string_view css_class,
                std::string_view title = {});
  // A marker at a data point; the tooltip is optional (each costs bytes on big plots).
  void marker(double x, double y, Shape shape, std::string_view css_class,
              std::string_view title = {});
  // A vertical line at x, labelled at its bottom; a label that would overlap the previous one
  // goes a row higher.
  void vline(double x, std::string_view css_class, std::string_view label = {});
  // A label at the left of a row (pixels on y), for strip charts.
  void row_label(double y_px, std::string_view text);
  // Text at pixel coordinates.
  void text(double x_px, double y_px, std::string_view text, std::string_view css_class,
            std::string_view anchor = "start");
  // The legend, drawn in one line above the plot area, right-aligned.
  void legend(std::vector<LegendEntry> entries) { legend_ = std::move(entries); }
  // Raw SVG appended to the data layer (already escaped).
  void raw(std::string_view svg) { data_ += svg; }

  // The whole <svg> element.
  std::string finish() const;

 private:
  std::string axes() const;
  std::string legend_svg() const;

  Options o_;
  Scale x_, y_;
  std::vector<Tick> x_ticks_, y_ticks_;
  std::string back_;  // bands, behind everything
  std::string data_;
  std::string front_;  // labels over the data
  std::vector<LegendEntry> legend_;
  // The extent of the last vline label (pixels) and its row.
  double vline_label_left_ = -1e9, vline_label_right_ = -1e9;
  int vline_row_ = 0;
};

// Marker SVG alone (for legends outside a chart): a small <svg> with one marker.
std::string marker_swatch(Shape shape, std::string_view css_class);

}  // namespace fl::report::svg
