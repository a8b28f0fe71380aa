#include "string_field_check.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include <stdexcept>

#include "utf8.hpp"

namespace chat {
namespace {

namespace pb = google::protobuf;

void strings_as_bytes(pb::DescriptorProto& message) {
  for (auto& field : *message.mutable_field()) {
    if (field.type() == pb::FieldDescriptorProto::TYPE_STRING)
      field.set_type(pb::FieldDescriptorProto::TYPE_BYTES);
  }
  for (auto& nested : *message.mutable_nested_type()) strings_as_bytes(nested);
}

// Adds file (and what it imports, first) to pool with every string field turned into bytes.
void add_as_bytes(const pb::FileDescriptor& file, pb::DescriptorPool& pool) {
  if (pool.FindFileByName(file.name())) return;
  for (int i = 0; i < file.dependency_count(); ++i) add_as_bytes(*file.dependency(i), pool);
  pb::FileDescriptorProto proto;
  file.CopyTo(&proto);
  for (auto& message : *proto.mutable_message_type()) strings_as_bytes(message);
  if (!pool.BuildFile(proto)) throw std::logic_error("cannot rebuild " + file.name());
}

// Walks message (the bytes variant) alongside the original type's descriptor.
std::optional<InvalidStringField> first_invalid(const pb::Message& message,
                                                const pb::Descriptor& original,
                                                const std::string& prefix) {
  const pb::Reflection& reflection = *message.GetReflection();
  const pb::Descriptor& type = *message.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const pb::FieldDescriptor& field = *type.field(i);
    const pb::FieldDescriptor* was = original.FindFieldByNumber(field.number());
    if (!was) continue;
    const std::string path = prefix.empty() ? field.name() : prefix + "." + field.name();
    const int count = field.is_repeated() ? reflection.FieldSize(message, &field)
                                          : (reflection.HasField(message, &field) ? 1 : 0);
    for (int n = 0; n < count; ++n) {
      if (was->type() == pb::FieldDescriptor::TYPE_STRING) {
        std::string scratch;
        const std::string& value =
            field.is_repeated()
                ? reflection.GetRepeatedStringReference(message, &field, n, &scratch)
                : reflection.GetStringReference(message, &field, &scratch);
        if (!utf8::is_valid(value)) return InvalidStringField{path, field.name(), 0};
      } else if (field.cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && was->message_type()) {
        const pb::Message& child = field.is_repeated()
                                       ? reflection.GetRepeatedMessage(message, &field, n)
                                       : reflection.GetMessage(message, &field);
        if (auto found = first_invalid(child, *was->message_type(), path)) return found;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

StringFieldCheck::StringFieldCheck(const pb::Descriptor& type)
    : pool_(std::make_unique<pb::DescriptorPool>()),
      factory_(std::make_unique<pb::DynamicMessageFactory>(pool_.get())),
      original_(type) {
  add_as_bytes(*type.file(), *pool_);
  const pb::Descriptor* as_bytes = pool_->FindMessageTypeByName(type.full_name());
  if (!as_bytes) throw std::logic_error("cannot find " + type.full_name());
  prototype_ = factory_->GetPrototype(as_bytes);
}

StringFieldCheck::~StringFieldCheck() = default;

std::optional<InvalidStringField> StringFieldCheck::find_invalid(std::string_view bytes) const {
  std::unique_ptr<pb::Message> message(prototype_->New());
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  auto found = first_invalid(*message, original_, "");
  if (!found) return std::nullopt;
  const pb::Descriptor& type = *message->GetDescriptor();
  if (const pb::FieldDescriptor* id = type.FindFieldByName("request_id");
      id && id->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT64 && !id->is_repeated()) {
    found->request_id = message->GetReflection()->GetUInt64(*message, id);
  }
  return found;
}

}  // namespace chat
