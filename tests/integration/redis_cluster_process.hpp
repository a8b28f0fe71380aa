#pragma once
// A real Redis Cluster for a test: masters with a replica each, every one a redis-server child
// process on a free loopback port, joined with `redis-cli --cluster create` as an operator
// would. Failures are quick to notice (cluster-node-timeout 1 s).

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "redis_process.hpp"

namespace chat::test {

// A free loopback port whose cluster bus port (10,000 above) is free too, at most 55535 as Redis
// requires; from a range below the ephemeral ports, so a connection cannot take it meanwhile.
inline std::uint16_t free_cluster_port() {
  static std::uint16_t next = static_cast<std::uint16_t>(20000 + (::getpid() % 500) * 20);
  auto free = [](std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return bound;
  };
  for (int tries = 0; tries < 5000; ++tries) {
    const std::uint16_t port = next++;
    if (next > 30000) next = 20000;
    if (free(port) && free(static_cast<std::uint16_t>(port + 10000))) return port;
  }
  throw std::runtime_error("no free port for a Redis Cluster node");
}

class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3, int replicas_per_master = 1) {
    const int count = masters * (1 + replicas_per_master);
    for (int i = 0; i < count; ++i) {
      nodes_.push_back(std::make_unique<RedisProcess>(/*durable=*/false, cluster_arguments(),
                                                      free_cluster_port()));
    }
    std::vector<std::string> create{"/usr/bin/redis-cli", "--cluster", "create"};
    for (const auto& node : nodes_) create.push_back(node->address());
    create.insert(create.end(),
                  {"--cluster-replicas", std::to_string(replicas_per_master), "--cluster-yes"});
    ChildProcess cli(create);
    if (cli.wait_exit() != 0) throw std::runtime_error("redis-cli --cluster create: " + cli.out());
    // Every node agrees that the cluster serves every slot, and every master has its replicas.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!settled(masters, replicas_per_master)) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the Redis Cluster did not settle");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // "127.0.0.1:p1,127.0.0.1:p2": two seeds, as an operator would give them.
  std::string seeds() const { return nodes_[0]->address() + "," + nodes_[1]->address(); }
  std::size_t size() const { return nodes_.size(); }
  RedisProcess& node(std::size_t index) { return *nodes_[index]; }

  // The live node that serves key's slot now (the others answer MOVED), or nullptr.
  RedisProcess* master_of(const std::string& key) {
    for (auto& node : nodes_) {
      if (std::find(dead_.begin(), dead_.end(), node.get()) != dead_.end()) continue;
      const std::string exists = node->query({"EXISTS", key});
      if (exists == "0" || exists == "1") return node.get();
    }
    return nullptr;
  }

  // A key whose slot the given master serves now.
  std::string key_served_by(const RedisProcess& node) {
    for (int i = 0;; ++i) {
      const std::string key = "{tag" + std::to_string(i) + "}";
      if (master_of(key) == &node) return key;
    }
  }

  // A command on the master of key's slot.
  std::string query(const std::string& key, const std::vector<std::string>& args) {
    RedisProcess* master = master_of(key);
    if (!master) throw std::runtime_error("no master serves " + key);
    return master->query(args);
  }

  // Whether `node` is a master now (a replica promoted after a failover, say).
  bool is_master(RedisProcess& node) const { return node.query({"ROLE"}).starts_with("master"); }

  // A master that joins the cluster (CLUSTER MEET) serving no slot yet, as an operator adds one
  // before moving slots to it; returned once every node knows every other and serves (a master
  // new to a cluster answers CLUSTERDOWN for its first seconds).
  RedisProcess& add_empty_master() {
    nodes_.push_back(std::make_unique<RedisProcess>(/*durable=*/false, cluster_arguments(),
                                                    free_cluster_port()));
    RedisProcess& added = *nodes_.back();
    nodes_.front()->query({"CLUSTER", "MEET", "127.0.0.1", std::to_string(added.port())});
    const std::string known = "cluster_known_nodes:" + std::to_string(nodes_.size());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::all_of(nodes_.begin(), nodes_.end(), [&](const auto& node) {
      const std::string info = node->query({"CLUSTER", "INFO"});
      return info.find(known) != std::string::npos &&
             info.find("cluster_state:ok") != std::string::npos;
    })) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("the new master did not join the cluster");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return added;
  }

  static std::string id_of(const RedisProcess& node) { return node.query({"CLUSTER", "MYID"}); }

  void kill(RedisProcess& node) {
    node.kill();
    dead_.push_back(&node);
  }

 private:
  static std::vector<std::string> cluster_arguments() {
    return {"--cluster-enabled",     "yes",       "--cluster-node-timeout", "1000",
            "--cluster-config-file", "nodes.conf"};
  }

  bool settled(int masters, int replicas_per_master) const {
    for (const auto& node : nodes_)
      if (node->query({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos)
        return false;
    int master_count = 0;
    int replica_count = 0;
    for (const auto& node : nodes_) {
      const std::string role = node->query({"ROLE"});
      if (role.starts_with("master")) ++master_count;
      if (role.starts_with("slave") && role.find("\nconnected\n") != std::string::npos)
        ++replica_count;
    }
    return master_count == masters && replica_count == masters * replicas_per_master;
  }

  std::vector<std::unique_ptr<RedisProcess>> nodes_;
  std::vector<RedisProcess*> dead_;
};

}  // namespace chat::test
