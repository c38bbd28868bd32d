// user and acl commands: thin wrappers over the Admin service's user and ACL methods.
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/ferryctl/commands.h"
#include "client/ferryctl/errors.h"
#include "client/ferryctl/json.h"
#include "client/ferryctl/output.h"

namespace ferry::ctl {
namespace {

void PrintJson(const JsonWriter& json) { PrintOut(json.str() + "\n"); }

// ---------------------------------------------------------------------------------------------
// user

struct UserOptions {
  std::string user;
  std::string password;
  CLI::Option* password_given = nullptr;
  std::vector<std::string> mechanisms;
  int32_t iterations = 0;
};

absl::Status UserCreate(Context& ctx, const UserOptions& o) {
  v1::SetPasswordRequest request;
  request.set_user(o.user);
  if (o.password_given != nullptr && o.password_given->count() > 0) {
    request.set_password(o.password);
  } else {
    // From stdin, so it stays out of the shell's history and the process list.
    std::string line;
    if (!std::getline(std::cin, line) || line.empty()) {
      return UsageError("give the password with --password or on stdin");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    request.set_password(line);
  }
  for (const std::string& m : o.mechanisms) request.add_mechanisms(m);
  request.set_iterations(o.iterations);
  v1::SetPasswordResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->SetPassword(call.get(), request, &response),
                            absl::StrCat("set the password of user '", o.user, "'"));
  if (!s.ok()) return s;
  if (ctx.json) {
    PrintJson(JsonWriter()
                  .BeginObject()
                  .Key("user")
                  .String(o.user)
                  .Key("created")
                  .Bool(response.created())
                  .EndObject());
  } else {
    PrintOut(absl::StrCat(response.created() ? "Created user '" : "Changed the password of user '",
                          o.user, "'.\n"));
  }
  return absl::OkStatus();
}

absl::Status UserDelete(Context& ctx, const UserOptions& o) {
  v1::DeleteUserRequest request;
  request.set_user(o.user);
  v1::DeleteUserResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DeleteUser(call.get(), request, &response),
                            absl::StrCat("delete user '", o.user, "'"));
  if (!s.ok()) return s;
  if (ctx.json) {
    PrintJson(JsonWriter()
                  .BeginObject()
                  .Key("user")
                  .String(o.user)
                  .Key("deleted")
                  .Bool(true)
                  .EndObject());
  } else {
    PrintOut(absl::StrCat("Deleted user '", o.user, "'.\n"));
  }
  return absl::OkStatus();
}

absl::Status UserList(Context& ctx, const UserOptions& /*o*/) {
  v1::ListUsersResponse response;
  auto call = ctx.CallContext();
  absl::Status s =
      FromGrpc(ctx.admin->ListUsers(call.get(), v1::ListUsersRequest(), &response), "list users");
  if (!s.ok()) return s;
  if (ctx.json) {
    JsonWriter json;
    json.BeginObject().Key("users").BeginArray();
    for (const v1::UserInfo& u : response.users()) {
      json.BeginObject().Key("user").String(u.name()).Key("credentials").BeginArray();
      for (const v1::UserCredential& c : u.credentials()) {
        json.BeginObject()
            .Key("mechanism")
            .String(c.mechanism())
            .Key("iterations")
            .Int(c.iterations())
            .EndObject();
      }
      json.EndArray().EndObject();
    }
    PrintJson(json.EndArray().EndObject());
    return absl::OkStatus();
  }
  Table table({"USER", "MECHANISM", "ITERATIONS"});
  for (const v1::UserInfo& u : response.users()) {
    for (const v1::UserCredential& c : u.credentials()) {
      table.AddRow({u.name(), c.mechanism(), absl::StrCat(c.iterations())});
    }
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// acl

struct AclOptions {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  std::vector<std::string> operations;
  std::string topic;
  std::string group;
  std::string transactional_id;
  bool cluster = false;
  std::string pattern;
  std::vector<std::string> hosts;
  std::string principal;  // list/remove filter
};

// The resource the options name: type and name; empty type when none.
absl::Status Resource(const AclOptions& o, std::string* type, std::string* name) {
  int given = 0;
  if (!o.topic.empty()) ++given, *type = "topic", *name = o.topic;
  if (!o.group.empty()) ++given, *type = "group", *name = o.group;
  if (!o.transactional_id.empty()) ++given, *type = "transactional_id", *name = o.transactional_id;
  if (o.cluster) ++given, *type = "cluster", *name = "kafka-cluster";
  if (given > 1) {
    return UsageError("give one of --topic, --group, --transactional-id and --cluster");
  }
  return absl::OkStatus();
}

void BindingJson(JsonWriter& json, const v1::AclBinding& b) {
  json.BeginObject()
      .Key("principal")
      .String(b.principal())
      .Key("permission")
      .String(b.permission())
      .Key("operation")
      .String(b.operation())
      .Key("host")
      .String(b.host())
      .Key("resource_type")
      .String(b.resource_type())
      .Key("resource_name")
      .String(b.resource_name())
      .Key("pattern_type")
      .String(b.pattern_type())
      .EndObject();
}

absl::Status PrintBindings(Context& ctx,
                           const google::protobuf::RepeatedPtrField<v1::AclBinding>& bs,
                           const std::string& key) {
  if (ctx.json) {
    JsonWriter json;
    json.BeginObject().Key(key).BeginArray();
    for (const v1::AclBinding& b : bs) BindingJson(json, b);
    PrintJson(json.EndArray().EndObject());
    return absl::OkStatus();
  }
  Table table({"PRINCIPAL", "PERMISSION", "OPERATION", "HOST", "RESOURCE", "NAME", "PATTERN"});
  for (const v1::AclBinding& b : bs) {
    table.AddRow({b.principal(), b.permission(), b.operation(), b.host(), b.resource_type(),
                  b.resource_name(), b.pattern_type()});
  }
  PrintOut(table.Render());
  return absl::OkStatus();
}

absl::Status AclAdd(Context& ctx, const AclOptions& o) {
  std::string type, name;
  if (absl::Status s = Resource(o, &type, &name); !s.ok()) return s;
  if (type.empty())
    return UsageError("name the resource: --topic, --group, --transactional-id or --cluster");
  if (o.allow.empty() && o.deny.empty())
    return UsageError("give --allow-principal or --deny-principal");
  if (o.operations.empty()) return UsageError("give --operation (repeatable)");
  v1::CreateAclsRequest request;
  const std::vector<std::string> any_host = {"*"};
  for (const auto* principals : {&o.allow, &o.deny}) {
    for (const std::string& p : *principals) {
      for (const std::string& op : o.operations) {
        for (const std::string& host : o.hosts.empty() ? any_host : o.hosts) {
          v1::AclBinding* b = request.add_acls();
          b->set_resource_type(type);
          b->set_resource_name(name);
          b->set_pattern_type(o.pattern.empty() ? "literal" : o.pattern);
          b->set_principal(p);
          b->set_host(host);
          b->set_operation(op);
          b->set_permission(principals == &o.allow ? "allow" : "deny");
        }
      }
    }
  }
  v1::CreateAclsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->CreateAcls(call.get(), request, &response), "add ACLs");
  if (!s.ok()) return s;
  if (ctx.json) return PrintBindings(ctx, request.acls(), "added");
  PrintOut(absl::StrCat("Added ", request.acls_size(), " ACL", request.acls_size() == 1 ? "" : "s",
                        ".\n"));
  return absl::OkStatus();
}

// The filter of acl list / remove.
absl::StatusOr<v1::AclFilter> Filter(const AclOptions& o) {
  v1::AclFilter f;
  std::string type, name;
  if (absl::Status s = Resource(o, &type, &name); !s.ok()) return s;
  if (!type.empty()) {
    f.set_resource_type(type);
    f.set_resource_name(name);
  }
  f.set_pattern_type(o.pattern.empty() ? (type.empty() ? "any" : "literal") : o.pattern);
  if (o.allow.size() + o.deny.size() > 1 || o.operations.size() > 1 || o.hosts.size() > 1) {
    return UsageError("a filter takes at most one principal, --operation and --host");
  }
  if (!o.principal.empty()) f.set_principal(o.principal);
  if (!o.allow.empty()) f.set_principal(o.allow[0]), f.set_permission("allow");
  if (!o.deny.empty()) f.set_principal(o.deny[0]), f.set_permission("deny");
  if (!o.operations.empty()) f.set_operation(o.operations[0]);
  if (!o.hosts.empty()) f.set_host(o.hosts[0]);
  return f;
}

absl::Status AclList(Context& ctx, const AclOptions& o) {
  auto filter = Filter(o);
  if (!filter.ok()) return filter.status();
  v1::ListAclsRequest request;
  *request.mutable_filter() = *filter;
  v1::ListAclsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->ListAcls(call.get(), request, &response), "list ACLs");
  if (!s.ok()) return s;
  return PrintBindings(ctx, response.acls(), "acls");
}

absl::Status AclRemove(Context& ctx, const AclOptions& o) {
  auto filter = Filter(o);
  if (!filter.ok()) return filter.status();
  if (!filter->has_resource_name()) {
    // As kafka-acls --remove: a resource is named, so one command cannot wipe every ACL.
    return UsageError("name the resource: --topic, --group, --transactional-id or --cluster");
  }
  v1::DeleteAclsRequest request;
  *request.mutable_filter() = *filter;
  v1::DeleteAclsResponse response;
  auto call = ctx.CallContext();
  absl::Status s = FromGrpc(ctx.admin->DeleteAcls(call.get(), request, &response), "remove ACLs");
  if (!s.ok()) return s;
  if (ctx.json) return PrintBindings(ctx, response.deleted(), "removed");
  PrintOut(absl::StrCat("Removed ", response.deleted_size(), " ACL",
                        response.deleted_size() == 1 ? "" : "s", ".\n"));
  return absl::OkStatus();
}

template <typename Options>
CLI::App* AddCommand(CLI::App* parent, Runner* run, const std::string& name,
                     const std::string& about, std::shared_ptr<Options> o,
                     absl::Status (*fn)(Context&, const Options&)) {
  CLI::App* cmd = parent->add_subcommand(name, about);
  cmd->callback([run, o, fn] { *run = [o, fn](Context& ctx) { return fn(ctx, *o); }; });
  return cmd;
}

void AclFlags(CLI::App* cmd, AclOptions& o, bool filter) {
  const auto all = CLI::MultiOptionPolicy::TakeAll;
  cmd->add_option("--allow-principal", o.allow, "principal allowed, User:NAME (repeatable)")
      ->multi_option_policy(all);
  cmd->add_option("--deny-principal", o.deny, "principal denied, User:NAME (repeatable)")
      ->multi_option_policy(all);
  cmd->add_option("--operation", o.operations,
                  "read, write, create, delete, alter, describe, describe_configs, "
                  "alter_configs, cluster_action, idempotent_write or all (repeatable)")
      ->multi_option_policy(all);
  cmd->add_option("--topic", o.topic, "the topic (or prefix, with --resource-pattern-type)");
  cmd->add_option("--group", o.group, "the consumer group");
  cmd->add_option("--transactional-id", o.transactional_id, "the transactional id");
  cmd->add_flag("--cluster", o.cluster, "the cluster (topic creation, users and ACLs)");
  cmd->add_option("--resource-pattern-type", o.pattern,
                  filter ? "literal, prefixed, match (every ACL that applies) or any"
                         : "literal (default) or prefixed");
  cmd->add_option("--host", o.hosts, "the client host (default: every host, *)")
      ->multi_option_policy(all);
  if (filter) cmd->add_option("--principal", o.principal, "only this principal's ACLs");
}

}  // namespace

void AddUserCommands(CLI::App& app, Runner* run) {
  CLI::App* user = app.add_subcommand("user", "create, list and delete users (SCRAM credentials)");
  user->require_subcommand(1);
  auto o = std::make_shared<UserOptions>();
  CLI::App* cmd = AddCommand(user, run, "create",
                             "Creates a user, or sets an existing user's password. The password "
                             "is read from stdin unless --password is given.",
                             o, UserCreate);
  cmd->add_option("user", o->user, "the user name")->required();
  o->password_given = cmd->add_option("--password", o->password, "the password (else stdin)");
  cmd->add_option("--mechanism", o->mechanisms,
                  "SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default both)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--iterations", o->iterations, "PBKDF2 iterations, 4096..16384 (default 4096)");
  cmd->footer("Example:\n  printf '%s\\n' \"$PW\" | ferryctl user create alice");

  o = std::make_shared<UserOptions>();
  cmd = AddCommand(user, run, "delete", "Deletes a user.", o, UserDelete);
  cmd->add_option("user", o->user, "the user name")->required();

  o = std::make_shared<UserOptions>();
  AddCommand(user, run, "list", "Lists users with their mechanisms and iterations (no secrets).", o,
             UserList);
}

void AddAclCommands(CLI::App& app, Runner* run) {
  CLI::App* acl = app.add_subcommand("acl", "add, list and remove ACLs (Kafka's model)");
  acl->require_subcommand(1);
  auto o = std::make_shared<AclOptions>();
  CLI::App* cmd = AddCommand(
      acl, run, "add", "Adds an ACL for every principal x operation x host given.", o, AclAdd);
  AclFlags(cmd, *o, false);
  cmd->footer(
      "Example:\n  ferryctl acl add --allow-principal User:alice --operation read --operation "
      "describe --topic orders-\n    --resource-pattern-type prefixed");

  o = std::make_shared<AclOptions>();
  cmd = AddCommand(acl, run, "list", "Lists the ACLs the options select (all without any).", o,
                   AclList);
  AclFlags(cmd, *o, true);

  o = std::make_shared<AclOptions>();
  cmd = AddCommand(acl, run, "remove",
                   "Removes the ACLs of a resource the options select; prints how many.", o,
                   AclRemove);
  AclFlags(cmd, *o, true);
}

}  // namespace ferry::ctl
