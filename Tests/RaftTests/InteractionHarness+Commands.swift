// The script commands, one small handler each. Arguments are whitespace-separated; ids are
// replica ids. See Scripts/*.txt for examples.

import Raft

extension InteractionHarness {
    mutating func run(_ line: String) throws(ScriptError) {
        let words = line.split(separator: " ").map(String.init)
        guard let command = words.first else { return }
        let args = Array(words.dropFirst())
        switch command {
        case "add-replicas": try addReplicas(args)
        case "add-replica": try addReplica(args)
        case "campaign": for id in try ids(args) { members[id]!.replica.campaign() }
        case "tick": try tick(args)
        case "propose": try propose(args)
        case "propose-change": try proposeChange(args)
        case "transfer-leadership": try transfer(args)
        case "read-index": try readIndex(args)
        case "process-ready": for id in try ids(args) where members[id]!.replica.hasReady { processReady(id) }
        case "deliver": for id in try ids(args) { deliver(id) }
        case "drop": for id in try ids(args) { deliver(id, drop: true) }
        case "stabilize": stabilize(args.isEmpty ? nil : try ids(args))
        case "partition": try partition(args)
        case "heal": partitions = []
        case "duplicate": duplicating = args.first == "on"
        case "compact": try compact(args)
        case "status": for id in try ids(args) { status(id) }
        case "log": for id in try ids(args) { printLog(id) }
        default: throw .unknownCommand(command)
        }
        if let violation = checkInvariants() { emit("INVARIANT VIOLATED: \(violation)") }
    }

    func ids(_ args: [String]) throws(ScriptError) -> [ReplicaID] {
        if args.isEmpty { return ids }
        var out: [ReplicaID] = []
        for arg in args {
            guard let n = UInt64(arg), n > 0, members[ReplicaID(n)] != nil else { throw .badArgument(arg) }
            out.append(ReplicaID(n))
        }
        return out
    }

    func id(_ arg: String?) throws(ScriptError) -> ReplicaID {
        guard let arg else { throw .badArgument("missing replica id") }
        return try ids([arg])[0]
    }

    /// `add-replicas N [learners=K] [bug=NAME]`: a founding group of N voters (and K learners
    /// after them); `bug=` plants a `RaftConfig.PlantedBug` in every replica.
    mutating func addReplicas(_ args: [String]) throws(ScriptError) {
        guard let n = args.first.flatMap(UInt64.init) else { throw .badArgument(args.first ?? "") }
        if let name = args.first(where: { $0.hasPrefix("bug=") })?.dropFirst(4) {
            guard let bug = RaftConfig.PlantedBug(rawValue: String(name)) else { throw .badArgument(String(name)) }
            config.plantedBug = bug
        }
        let learners = args.dropFirst().first { $0.hasPrefix("learners=") }.flatMap { UInt64($0.dropFirst(9)) } ?? 0
        let voters = (1...n).map { ReplicaID($0) }
        let learnerIDs = learners == 0 ? [] : (n + 1...n + learners).map { ReplicaID($0) }
        let configuration = Configuration(voters: voters, learners: learnerIDs)
        for id in voters + learnerIDs {
            var c = config
            c.seed = id.rawValue
            members[id] = Member(replica: Replica(id: id, config: c, storage: MemoryRaftLog(bootstrap: configuration)))
        }
        emit("bootstrapped \(configuration)")
    }

    /// `add-replica ID`: a new, empty replica that waits to hear from a leader.
    mutating func addReplica(_ args: [String]) throws(ScriptError) {
        guard let n = args.first.flatMap(UInt64.init), n > 0 else { throw .badArgument(args.first ?? "") }
        var c = config
        c.seed = n
        members[ReplicaID(n)] = Member(replica: Replica(id: ReplicaID(n), config: c, storage: MemoryRaftLog()))
        emit("started \(n) with an empty log")
    }

    /// `tick ID [count]`.
    mutating func tick(_ args: [String]) throws(ScriptError) {
        let target = try id(args.first)
        let count = args.count > 1 ? Int(args[1]) ?? 1 : 1
        for _ in 0..<count { members[target]!.replica.tick() }
    }

    /// `propose ID command…`: each word is one command, proposed as one batch.
    mutating func propose(_ args: [String]) throws(ScriptError) {
        let target = try id(args.first)
        let commands = args.dropFirst().map { Array($0.utf8) }
        do {
            let range = try members[target]!.replica.propose(Array(commands))
            emit("proposed at \(range.lowerBound)...\(range.upperBound)")
        } catch {
            emit("refused: \(error)")
        }
    }

    /// `propose-change ID add-voter|add-learner|promote|remove TARGET`.
    mutating func proposeChange(_ args: [String]) throws(ScriptError) {
        guard args.count == 3, let n = UInt64(args[2]) else { throw .badArgument(args.joined(separator: " ")) }
        let target = try id(args.first)
        let change: ConfigurationChange
        switch args[1] {
        case "add-voter": change = .addVoter(ReplicaID(n))
        case "add-learner": change = .addLearner(ReplicaID(n))
        case "promote": change = .promote(ReplicaID(n))
        case "remove": change = .remove(ReplicaID(n))
        default: throw .badArgument(args[1])
        }
        do {
            let index = try members[target]!.replica.proposeConfigurationChange(change)
            emit("proposed \(change) at \(index)")
        } catch {
            emit("refused: \(error)")
        }
    }

    mutating func transfer(_ args: [String]) throws(ScriptError) {
        let from = try id(args.first)
        let to = try id(args.dropFirst().first)
        do { try members[from]!.replica.transferLeadership(to: to) } catch { emit("refused: \(error)") }
    }

    /// `read-index ID CONTEXT`.
    mutating func readIndex(_ args: [String]) throws(ScriptError) {
        let target = try id(args.first)
        guard args.count == 2, let context = UInt64(args[1]) else { throw .badArgument(args.joined(separator: " ")) }
        do { try members[target]!.replica.readIndex(context: context) } catch { emit("refused: \(error)") }
    }

    /// `partition 1 2 | 3`: replicas in different groups cannot exchange messages.
    mutating func partition(_ args: [String]) throws(ScriptError) {
        var groups: [[ReplicaID]] = [[]]
        for arg in args {
            if arg == "|" { groups.append([]) } else { groups[groups.count - 1].append(try id(arg)) }
        }
        partitions = groups
    }

    /// `compact ID`: snapshot the state machine at the applied index and drop the log below it.
    mutating func compact(_ args: [String]) throws(ScriptError) {
        let target = try id(args.first)
        var m = members[target]!
        let index = m.replica.appliedIndex
        guard let term = m.replica.term(at: index) else { throw .badArgument("nothing to compact") }
        let metadata = SnapshotMetadata(index: index, term: term, configuration: m.replica.configuration(at: index))
        m.replica.storage.createSnapshot(Snapshot(metadata: metadata, data: Self.encode(m.applied)))
        m.replica.storage.compact(through: index)
        members[target] = m
        emit("\(target) snapshot \(metadata), log starts at \(m.replica.storage.firstIndex)")
    }

    mutating func status(_ id: ReplicaID) {
        let r = members[id]!.replica
        var line = "\(id): \(r.role.rawValue) term=\(r.term) vote=\(r.vote.map(\.description) ?? "-")"
        line += " leader=\(r.leader.map(\.description) ?? "-") commit=\(r.commitIndex) applied=\(r.appliedIndex)"
        line += " last=\(r.lastIndex) \(r.configuration)"
        let output = [line] + r.progressDescription.map { "  " + $0 } + ["  state: [\(members[id]!.applied.joined(separator: " "))]"]
        for l in output { emit(l) }
    }

    mutating func printLog(_ id: ReplicaID) {
        let r = members[id]!.replica
        let entries = r.entries(r.firstIndex..<r.lastIndex.next)
        emit("\(id) log: first=\(r.firstIndex) " + (entries.isEmpty ? "(empty)" : entries.map(\.description).joined(separator: ", ")))
    }
}

enum ScriptError: Error, CustomStringConvertible {
    case unknownCommand(String)
    case badArgument(String)
    var description: String {
        switch self {
        case .unknownCommand(let c): return "unknown command \(c)"
        case .badArgument(let a): return "bad argument \(a)"
        }
    }
}
