import ArgumentParser

@main
struct Kura: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kura",
        abstract: "Kura: the storage and replication backend of a social-VR world.",
        subcommands: [])
}
