// kura: the storage and replication backend's command line. Chunk-store commands speak desync's
// language (`kura make -s STORE INDEX FILE`, …) so its users feel at home.
import ArgumentParser

@main
struct Kura: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kura",
        abstract: "Kura: storage and replication for social-VR worlds.",
        discussion: """
            Chunk stores and .caibx indexes are byte-compatible with casync and desync: a STORE is a \
            directory in casync's layout (<4 hex>/<id>.cacnk).
            """,
        subcommands: [
            MakeCommand.self, ExtractCommand.self, VerifyCommand.self, VerifyIndexCommand.self,
            InfoCommand.self, ChopCommand.self, CatCommand.self, PruneCommand.self, CacheCommand.self, DatabaseCommand.self,
            ServeCommand.self, KVCommand.self, ClusterCommand.self, ChunkServerCommand.self,
        ])
}
