#include "common/server/reflection_v1.h"

#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/server_initializer.h>

#include <set>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace trelink {

namespace reflection = grpc::reflection::v1;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

namespace {

// Answers one stream's requests; `sent` keeps each dependency to one copy
// per stream, so a client resolving a graph of files is not sent it twice.
class ReflectionAnswers {
 public:
  explicit ReflectionAnswers(const ServedServices& services) : services_(services) {}

  reflection::ServerReflectionResponse Answer(const reflection::ServerReflectionRequest& request) {
    reflection::ServerReflectionResponse response;
    response.set_valid_host(request.host());
    *response.mutable_original_request() = request;
    const DescriptorPool& pool = *DescriptorPool::generated_pool();
    using Request = reflection::ServerReflectionRequest;
    switch (request.message_request_case()) {
      case Request::kListServices:
        for (const std::string& name : services_.names()) {
          response.mutable_list_services_response()->add_service()->set_name(name);
        }
        break;
      case Request::kFileByFilename:
        AddFile(pool.FindFileByName(request.file_by_filename()), "file", response);
        break;
      case Request::kFileContainingSymbol:
        AddFile(pool.FindFileContainingSymbol(request.file_containing_symbol()), "symbol", response);
        break;
      case Request::kFileContainingExtension: {
        const auto* type = pool.FindMessageTypeByName(request.file_containing_extension().containing_type());
        const auto* extension =
            type == nullptr ? nullptr
                            : pool.FindExtensionByNumber(type, request.file_containing_extension().extension_number());
        AddFile(extension == nullptr ? nullptr : extension->file(), "extension", response);
        break;
      }
      case Request::kAllExtensionNumbersOfType: {
        const auto* type = pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
        if (type == nullptr) {
          SetError(grpc::StatusCode::NOT_FOUND, "type not found", response);
          break;
        }
        std::vector<const google::protobuf::FieldDescriptor*> extensions;
        pool.FindAllExtensions(type, &extensions);
        auto* numbers = response.mutable_all_extension_numbers_response();
        numbers->set_base_type_name(type->full_name());
        for (const auto* extension : extensions) numbers->add_extension_number(extension->number());
        break;
      }
      default: SetError(grpc::StatusCode::INVALID_ARGUMENT, "message_request: none set", response); break;
    }
    return response;
  }

 private:
  static void SetError(grpc::StatusCode code, const std::string& message,
                       reflection::ServerReflectionResponse& response) {
    response.mutable_error_response()->set_error_code(code);
    response.mutable_error_response()->set_error_message(message);
  }

  // The file itself always; the files it depends on, transitively, unless
  // this stream has had them.
  void AddFile(const FileDescriptor* file, const std::string& what, reflection::ServerReflectionResponse& response) {
    if (file == nullptr) {
      SetError(grpc::StatusCode::NOT_FOUND, what + " not found", response);
      return;
    }
    auto* files = response.mutable_file_descriptor_response();
    std::vector<const FileDescriptor*> pending = {file};
    sent_.insert(file->name());
    while (!pending.empty()) {
      const FileDescriptor* next = pending.back();
      pending.pop_back();
      google::protobuf::FileDescriptorProto proto;
      next->CopyTo(&proto);
      files->add_file_descriptor_proto(proto.SerializeAsString());
      for (int i = 0; i < next->dependency_count(); ++i) {
        if (sent_.insert(next->dependency(i)->name()).second) pending.push_back(next->dependency(i));
      }
    }
  }

  const ServedServices& services_;
  std::set<std::string> sent_;
};

class ReflectionV1Service final : public reflection::ServerReflection::Service {
 public:
  explicit ReflectionV1Service(std::shared_ptr<const ServedServices> services) : services_(std::move(services)) {}

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* /*context*/,
      grpc::ServerReaderWriter<reflection::ServerReflectionResponse, reflection::ServerReflectionRequest>* stream)
      override {
    ReflectionAnswers answers(*services_);
    reflection::ServerReflectionRequest request;
    while (stream->Read(&request)) {
      if (!stream->Write(answers.Answer(request))) break;
    }
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<const ServedServices> services_;
};

}  // namespace

// Registers the service when the server is built, and hands it the server's
// list of service names (complete once the server starts).
class ReflectionV1Plugin final : public grpc::ServerBuilderPlugin {
 public:
  explicit ReflectionV1Plugin(std::shared_ptr<ServedServices> services)
      : services_(services), service_(std::make_shared<ReflectionV1Service>(std::move(services))) {}
  std::string name() override { return "trelink_reflection_v1"; }
  void InitServer(grpc::ServerInitializer* initializer) override {
    initializer->RegisterService(service_);
    services_->names_ = initializer->GetServiceList();
  }
  void Finish(grpc::ServerInitializer* /*initializer*/) override {}
  void ChangeArguments(const std::string& /*name*/, void* /*value*/) override {}
  bool has_sync_methods() const override { return true; }

 private:
  std::shared_ptr<ServedServices> services_;
  std::shared_ptr<ReflectionV1Service> service_;
};

namespace {

class ReflectionV1Option final : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionV1Option(std::shared_ptr<ServedServices> services) : services_(std::move(services)) {}
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<ReflectionV1Plugin>(services_));
  }

 private:
  std::shared_ptr<ServedServices> services_;
};

}  // namespace

std::shared_ptr<const ServedServices> AddReflectionV1(grpc::ServerBuilder& builder) {
  auto services = std::make_shared<ServedServices>();
  builder.SetOption(std::make_unique<ReflectionV1Option>(services));
  return services;
}

}  // namespace trelink
