/// `--model kv`: `f` is `read`, `write` or `cas`; values are integers or null (absent).
/// A write's value is the value written (null deletes); a cas's value is `[old,new]`; an `ok`
/// read's value is the value read. Completions of writes and cas may repeat or omit the value.
package struct KVLineFormat: HistoryLineFormat {
    package let model = KVModel()
    package init() {}

    package func input(f: String, key: String, value: JSONValue?) throws(LineProblem) -> KVModel.Input {
        switch f {
        case "read":
            try checkPlainValue(value)
            return .read(key: key)
        case "write":
            guard value != nil else { throw LineProblem("missing field \"value\" (the value written)") }
            return .write(key: key, try optionalInteger(value))
        case "cas":
            let (old, new) = try pair(value, "cas value [old,new]")
            return .cas(key: key, old: try optionalInteger(old, "old value"), new: try optionalInteger(new, "new value"))
        default:
            throw LineProblem("unknown f \"\(f)\" (expected read, write or cas)")
        }
    }

    package func output(of input: KVModel.Input, value: JSONValue?) throws(LineProblem) -> KVModel.Output {
        switch input {
        case .read:
            guard value != nil else { throw LineProblem("missing field \"value\" (the value read)") }
            return .read(try optionalInteger(value))
        case .write, .cas:
            try checkPlainValue(value)
            return .written
        }
    }
}

/// `--model asset`: `key` is the asset; `f` is `publish` with value `[version,digest]`, or `get`
/// whose `ok` value is the current `[version,digest]` or null. A refused publish is a `fail`.
package struct AssetLineFormat: HistoryLineFormat {
    package let model = AssetVersionModel()
    package init() {}

    package func input(f: String, key: String, value: JSONValue?) throws(LineProblem)
        -> AssetVersionModel.Input
    {
        switch f {
        case "publish":
            let (version, digest) = try pair(value, "publish value [version,digest]")
            return .publish(
                asset: key, version: try requiredInteger(version, "version"),
                digest: try requiredInteger(digest, "digest"))
        case "get":
            try checkPlainValue(value)
            return .get(asset: key)
        default:
            throw LineProblem("unknown f \"\(f)\" (expected publish or get)")
        }
    }

    package func output(of input: AssetVersionModel.Input, value: JSONValue?) throws(LineProblem)
        -> AssetVersionModel.Output
    {
        switch input {
        case .publish:
            try checkPlainValue(value)
            return .accepted
        case .get:
            guard let value else { throw LineProblem("missing field \"value\" (the current version)") }
            if value == .null { return .current(nil) }
            let (version, digest) = try pair(value, "get value [version,digest]")
            return .current(
                .init(version: try requiredInteger(version, "version"), digest: try requiredInteger(digest, "digest")))
        }
    }
}

/// `--model authority`: `key` is the entity; `f` is `transfer` with value
/// `[expectedEpoch,newOwner]`, `update` with value `[owner,epoch]`, or `read` whose `ok` value is
/// `[owner,epoch]` (owner null: none). A refused transfer or update is a `fail`.
package struct AuthorityLineFormat: HistoryLineFormat {
    package let model = AuthorityModel()
    package init() {}

    package func input(f: String, key: String, value: JSONValue?) throws(LineProblem)
        -> AuthorityModel.Input
    {
        switch f {
        case "transfer":
            let (epoch, owner) = try pair(value, "transfer value [expectedEpoch,newOwner]")
            return .transfer(
                entity: key, expectedEpoch: try requiredInteger(epoch, "expected epoch"),
                newOwner: try requiredInteger(owner, "new owner"))
        case "update":
            let (owner, epoch) = try pair(value, "update value [owner,epoch]")
            return .update(
                entity: key, owner: try requiredInteger(owner, "owner"), epoch: try requiredInteger(epoch, "epoch"))
        case "read":
            try checkPlainValue(value)
            return .read(entity: key)
        default:
            throw LineProblem("unknown f \"\(f)\" (expected transfer, update or read)")
        }
    }

    package func output(of input: AuthorityModel.Input, value: JSONValue?) throws(LineProblem)
        -> AuthorityModel.Output
    {
        switch input {
        case .transfer:
            try checkPlainValue(value)
            return .transferred
        case .update:
            try checkPlainValue(value)
            return .accepted
        case .read:
            let (owner, epoch) = try pair(value, "read value [owner,epoch]")
            return .read(.init(owner: try optionalInteger(owner, "owner"), epoch: try requiredInteger(epoch, "epoch")))
        }
    }
}
