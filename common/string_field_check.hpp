#pragma once
// Protobuf's generated parser refuses a whole message when one string field is not valid UTF-8.
// This finds which field it was, so that a request can be answered with an error of its own
// instead of losing the connection: the message is parsed again with every string field of its
// type (current and future ones, nested ones too) read as bytes, then each string is checked.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace google::protobuf {
class Descriptor;
class DescriptorPool;
class DynamicMessageFactory;
class Message;
}  // namespace google::protobuf

namespace chat {

struct InvalidStringField {
  std::string path;              // e.g. "send.text"
  std::string name;              // the field's own name, e.g. "text"
  std::uint64_t request_id = 0;  // the message's top-level request_id field, when it has one
};

class StringFieldCheck {
 public:
  explicit StringFieldCheck(const google::protobuf::Descriptor& type);
  ~StringFieldCheck();
  StringFieldCheck(const StringFieldCheck&) = delete;
  StringFieldCheck& operator=(const StringFieldCheck&) = delete;

  // For bytes the generated parser refused: the first string field that is not valid UTF-8, or
  // nullopt when the bytes are malformed for another reason (or are valid after all).
  std::optional<InvalidStringField> find_invalid(std::string_view bytes) const;

 private:
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  const google::protobuf::Message* prototype_ = nullptr;  // the type with strings as bytes
  const google::protobuf::Descriptor& original_;
};

}  // namespace chat
