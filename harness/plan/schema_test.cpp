// plans/schema.json must describe exactly the keys the loader accepts (keys.h): the same tables,
// the same property names, types and enum values, in both directions.
#include "harness/plan/keys.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace fl::plan {
namespace {

namespace json = boost::json;

json::object load_schema() {
  std::ifstream in(std::string(FL_SOURCE_DIR) + "/plans/schema.json");
  EXPECT_TRUE(in) << "cannot open plans/schema.json";
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(text.str(), ec);
  EXPECT_FALSE(ec) << "plans/schema.json: " << ec.message();
  return v.is_object() ? v.as_object() : json::object{};
}

class SchemaTest : public ::testing::Test {
 protected:
  // Follows a local "$ref": "#/definitions/x".
  const json::object& deref(const json::object& o) const {
    if (auto* ref = o.if_contains("$ref")) {
      std::string_view target = ref->as_string();
      constexpr std::string_view kPrefix = "#/definitions/";
      EXPECT_TRUE(target.starts_with(kPrefix)) << target;
      return schema_.at("definitions").at(target.substr(kPrefix.size())).as_object();
    }
    return o;
  }

  // The object schema of a table value: looks through arrays (items) and oneOf/anyOf branches.
  const json::object* table_schema(const json::object& property) const {
    const json::object* o = &deref(property);
    if (auto* items = o->if_contains("items")) o = &deref(items->as_object());
    for (std::string_view alt : {"oneOf", "anyOf"}) {
      if (auto* branches = o->if_contains(alt)) {
        for (const auto& b : branches->as_array()) {
          const auto& branch = deref(b.as_object());
          if (branch.contains("properties")) return &branch;
        }
      }
    }
    return o->contains("properties") ? o : nullptr;
  }

  // The schema object of the table at a registry path ("" = root, "node.ready").
  const json::object* find(std::string_view path) const {
    const json::object* o = &schema_;
    while (!path.empty()) {
      auto dot = path.find('.');
      auto seg = path.substr(0, dot);
      path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
      const auto* props = o->if_contains("properties");
      if (!props || !props->as_object().contains(seg)) return nullptr;
      o = table_schema(props->as_object().at(seg).as_object());
      if (!o) return nullptr;
    }
    return o;
  }

  // Every table the schema describes, by registry-style path.
  void collect(const json::object& table, const std::string& path, std::set<std::string>& out) {
    out.insert(path);
    for (const auto& [name, prop] : table.at("properties").as_object()) {
      if (const auto* sub = table_schema(prop.as_object())) {
        collect(*sub, path.empty() ? std::string(name) : path + "." + std::string(name), out);
      }
    }
  }

  json::object schema_ = load_schema();
};

TEST_F(SchemaTest, EveryRegistryTableMatchesTheSchema) {
  for (const auto& table : known_tables()) {
    SCOPED_TRACE(std::string("table '") + std::string(table.path) + "'");
    const json::object* o = find(table.path);
    ASSERT_NE(o, nullptr) << "no schema for this table";
    EXPECT_EQ(o->at("type"), "object");
    ASSERT_TRUE(o->contains("additionalProperties"));
    EXPECT_EQ(o->at("additionalProperties"), false);

    const auto& props = o->at("properties").as_object();
    std::set<std::string> in_schema;
    for (const auto& [name, v] : props) in_schema.emplace(name);
    std::set<std::string> in_registry;
    for (const auto& k : table.keys) in_registry.emplace(k.name);
    EXPECT_EQ(in_schema, in_registry);

    for (const auto& key : table.keys) {
      SCOPED_TRACE(std::string("key '") + std::string(key.name) + "'");
      if (!props.contains(key.name)) continue;
      const auto& prop = deref(props.at(key.name).as_object());
      ASSERT_TRUE(prop.contains("type"));
      if (key.type == KeyType::table_or_array) {
        EXPECT_EQ(prop.at("type"), (json::array{"object", "array"}));
      } else if (key.type == KeyType::duration_list) {
        EXPECT_EQ(prop.at("type"), (json::array{"string", "array"}));
        EXPECT_TRUE(prop.contains("pattern"));
        EXPECT_EQ(prop.at("items").at("pattern"), prop.at("pattern"));
      } else if (key.type == KeyType::fraction) {
        EXPECT_EQ(prop.at("type"), (json::array{"number", "string"}));
        EXPECT_TRUE(prop.contains("pattern"));
      } else {
        EXPECT_EQ(prop.at("type").as_string(), json_schema_type(key.type));
      }
      EXPECT_TRUE(prop.contains("description"));
      if (key.type == KeyType::duration || key.type == KeyType::size) {
        EXPECT_TRUE(prop.contains("pattern"));
        // Optional keys whose absence means something of its own say so instead of a default;
        // required keys have none.
        bool required = false;
        if (const auto* req = o->if_contains("required")) {
          for (const auto& r : req->as_array()) required = required || r == key.name.data();
        }
        if (!required && !prop.contains("default")) {
          EXPECT_NE(std::string_view(prop.at("description").as_string()).find("Absent"),
                    std::string_view::npos)
              << "a duration or size key without a default must say what its absence means";
        }
      }
      std::set<std::string> choices(key.choices.begin(), key.choices.end());
      std::set<std::string> schema_enum;
      if (auto* e = prop.if_contains("enum")) {
        for (const auto& v : e->as_array()) schema_enum.emplace(v.as_string());
      }
      EXPECT_EQ(schema_enum, choices);
      if (key.type == KeyType::string_array) {
        EXPECT_EQ(prop.at("items").at("type"), "string");
      }
      if (key.type == KeyType::string_map) {
        EXPECT_EQ(prop.at("additionalProperties").at("type"), "string");
      }
      if (key.type == KeyType::number_map) {
        EXPECT_EQ(prop.at("additionalProperties").at("type"), "number");
      }
    }
  }
}

TEST_F(SchemaTest, SchemaDescribesNoTableTheLoaderLacks) {
  std::set<std::string> in_schema;
  collect(schema_, "", in_schema);
  std::set<std::string> in_registry;
  for (const auto& t : known_tables()) in_registry.emplace(t.path);
  EXPECT_EQ(in_schema, in_registry);
}

TEST_F(SchemaTest, RequiredKeys) {
  auto required = [&](std::string_view path) {
    std::set<std::string> out;
    if (auto* r = find(path)->if_contains("required")) {
      for (const auto& v : r->as_array()) out.emplace(v.as_string());
    }
    return out;
  };
  EXPECT_EQ(required(""), (std::set<std::string>{"name"}));
  EXPECT_EQ(required("node"), (std::set<std::string>{"id", "command"}));
  EXPECT_EQ(required("node.depends_on"), (std::set<std::string>{"node"}));
  EXPECT_EQ(required("workload"), (std::set<std::string>{"kind"}));
  EXPECT_EQ(required("check"), (std::set<std::string>{"kind"}));
  EXPECT_EQ(required("fault"), (std::set<std::string>{"action"}));
  EXPECT_EQ(required("fault.toxics"), (std::set<std::string>{"kind"}));
  EXPECT_EQ(required("network.region"), (std::set<std::string>{"name", "nodes"}));
  EXPECT_EQ(required("network.link"), (std::set<std::string>{"from", "to"}));
}

}  // namespace
}  // namespace fl::plan
