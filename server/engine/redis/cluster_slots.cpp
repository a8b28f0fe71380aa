#include "cluster_slots.hpp"

#include <algorithm>
#include <charconv>

#include "redis_reply.hpp"

namespace chat::server::redis {
namespace {

// CRC16/XMODEM (polynomial 0x1021, initial 0), the checksum Redis Cluster hashes keys with.
constexpr std::array<std::uint16_t, 256> crc16_table = [] {
  std::array<std::uint16_t, 256> table{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint16_t crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    table[byte] = crc;
  }
  return table;
}();

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (const char c : bytes) {
    const auto index = ((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff;
    crc = static_cast<std::uint16_t>((crc << 8) ^ crc16_table[index]);
  }
  return crc;
}

std::optional<HostPort> address_of(const Reply& node, const HostPort& asked) {
  if (node.type != Reply::Type::array || node.elements.size() < 2) return std::nullopt;
  const Reply& host = node.elements[0];
  const Reply& port = node.elements[1];
  if (host.type != Reply::Type::string || host.text == "?" || port.type != Reply::Type::integer ||
      port.integer <= 0 || port.integer > 65535)
    return std::nullopt;
  // A node that never met another does not know its own address: "" means the one asked.
  return HostPort{.host = host.text.empty() ? asked.host : host.text,
                  .port = static_cast<std::uint16_t>(port.integer)};
}

bool same(const HostPort& a, const HostPort& b) { return a.port == b.port && a.host == b.host; }

}  // namespace

std::uint16_t key_slot(std::string_view key) {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % slot_count;
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect redirect;
  if (error.starts_with("MOVED ")) {
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    redirect.kind = Redirect::Kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  const auto [end, failure] = std::from_chars(error.data(), error.data() + space, slot);
  if (failure != std::errc{} || end != error.data() + space || slot >= slot_count)
    return std::nullopt;
  const auto address = parse_host_port(error.substr(space + 1));
  if (!address || address->port == 0) return std::nullopt;
  redirect.slot = static_cast<std::uint16_t>(slot);
  redirect.address = *address;
  return redirect;
}

std::string address_text(const HostPort& address) {
  std::string text = address.host;
  text += ':';
  text += std::to_string(address.port);
  return text;
}

SlotMap::SlotMap() { owner_.fill(-1); }

std::optional<SlotMap> SlotMap::from_cluster_slots(const Reply& reply, const HostPort& asked) {
  if (reply.type != Reply::Type::array) return std::nullopt;
  SlotMap map;
  for (const Reply& range : reply.elements) {
    // [first, last, [host, port, id, ...] master, replicas...]
    if (range.type != Reply::Type::array || range.elements.size() < 3) return std::nullopt;
    const Reply& first = range.elements[0];
    const Reply& last = range.elements[1];
    if (first.type != Reply::Type::integer || last.type != Reply::Type::integer ||
        first.integer < 0 || last.integer < first.integer || last.integer >= slot_count)
      return std::nullopt;
    const auto master = address_of(range.elements[2], asked);
    if (!master) return std::nullopt;
    for (auto slot = first.integer; slot <= last.integer; ++slot)
      map.assign(static_cast<std::uint16_t>(slot), *master);
  }
  return map;
}

SlotMap SlotMap::single(const HostPort& node) {
  SlotMap map;
  map.nodes_.push_back(node);
  map.owner_.fill(0);
  return map;
}

const HostPort* SlotMap::owner(std::uint16_t slot) const {
  const auto index = owner_[slot % slot_count];
  return index < 0 ? nullptr : &nodes_[static_cast<std::size_t>(index)];
}

void SlotMap::assign(std::uint16_t slot, const HostPort& node) {
  auto known = std::find_if(nodes_.begin(), nodes_.end(),
                            [&](const HostPort& candidate) { return same(candidate, node); });
  if (known == nodes_.end()) known = nodes_.insert(nodes_.end(), node);
  owner_[slot % slot_count] = static_cast<std::int16_t>(known - nodes_.begin());
}

std::vector<HostPort> SlotMap::masters() const {
  std::vector<bool> serving(nodes_.size(), false);
  for (const auto index : owner_)
    if (index >= 0) serving[static_cast<std::size_t>(index)] = true;
  std::vector<HostPort> out;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (serving[i]) out.push_back(nodes_[i]);
  return out;
}

std::string SlotMap::slots_of(const HostPort& master) const {
  std::string out;
  for (std::size_t slot = 0; slot < slot_count;) {
    const HostPort* node = owner(static_cast<std::uint16_t>(slot));
    if (!node || !same(*node, master)) {
      ++slot;
      continue;
    }
    std::size_t last = slot;
    while (last + 1 < slot_count) {
      const HostPort* next = owner(static_cast<std::uint16_t>(last + 1));
      if (!next || !same(*next, master)) break;
      ++last;
    }
    if (!out.empty()) out += ',';
    out += std::to_string(slot);
    if (last > slot) {
      out += '-';
      out += std::to_string(last);
    }
    slot = last + 1;
  }
  return out;
}

std::size_t SlotMap::unserved() const {
  return static_cast<std::size_t>(std::count(owner_.begin(), owner_.end(), -1));
}

}  // namespace chat::server::redis
