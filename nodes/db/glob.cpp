#include "nodes/db/glob.h"

#include <cstddef>
#include <utility>

namespace fl::db {
namespace {

char fold(char c, bool nocase) noexcept {
  return (nocase && c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// Matches one pattern token at p against c. Sets `next` to the index after the token.
bool match_one(std::string_view pat, size_t p, char c, bool nocase, size_t& next) noexcept {
  c = fold(c, nocase);
  if (pat[p] == '?') {
    next = p + 1;
    return true;
  }
  if (pat[p] == '\\' && p + 1 < pat.size()) {
    next = p + 2;
    return fold(pat[p + 1], nocase) == c;
  }
  if (pat[p] != '[') {
    next = p + 1;
    return fold(pat[p], nocase) == c;
  }
  // Character class; an unterminated class runs to the end of the pattern, as in Redis.
  size_t i = p + 1;
  bool negate = false;
  if (i < pat.size() && pat[i] == '^') {
    negate = true;
    ++i;
  }
  bool matched = false;
  while (i < pat.size() && pat[i] != ']') {
    if (pat[i] == '\\' && i + 1 < pat.size()) {
      if (fold(pat[i + 1], nocase) == c) matched = true;
      i += 2;
    } else if (i + 2 < pat.size() && pat[i + 1] == '-' && pat[i + 2] != ']') {
      char lo = fold(pat[i], nocase);
      char hi = fold(pat[i + 2], nocase);
      if (lo > hi) std::swap(lo, hi);
      if (c >= lo && c <= hi) matched = true;
      i += 3;
    } else {
      if (fold(pat[i], nocase) == c) matched = true;
      ++i;
    }
  }
  next = i < pat.size() ? i + 1 : i;
  return matched != negate;
}

}  // namespace

bool glob_match(std::string_view pat, std::string_view text, bool nocase) noexcept {
  // Greedy matching with a single backtrack point at the last star: linear in practice and
  // never exponential.
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    size_t next = 0;
    if (p < pat.size() && pat[p] == '*') {
      while (p < pat.size() && pat[p] == '*') ++p;
      if (p == pat.size()) return true;
      star_p = p;
      star_t = t;
    } else if (p < pat.size() && match_one(pat, p, text[t], nocase, next)) {
      p = next;
      ++t;
    } else if (star_p != std::string_view::npos) {
      p = star_p;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

}  // namespace fl::db
