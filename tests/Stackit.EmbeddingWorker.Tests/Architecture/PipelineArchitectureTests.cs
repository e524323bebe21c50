using ArchUnitNET.Domain;
using ArchUnitNET.Fluent;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnitV3;
using Stackit.EmbeddingWorker.Pipeline;
using Stackit.EmbeddingWorker.Testing;
using Stackit.EmbeddingWorker.VectorStore;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace Stackit.EmbeddingWorker.Tests.Architecture;

/// <summary>
/// The rooms of the worker and the arrows allowed between them (docs/architecture.md): stages meet only in the
/// core (<c>Pipeline</c>) and the queue room (<c>Messaging</c>); the core and the rooms under it know no stage;
/// only the wiring (<c>Hosting</c>), the helper commands (<c>Cli</c>) and the management port see everything.
/// </summary>
public sealed class PipelineArchitectureTests
{
    private const string Root = "Stackit.EmbeddingWorker";

    /// <summary>The stages, in the order work flows through them; Backfill is a second source beside Intake.</summary>
    public static readonly TheoryData<string> Stages = ["Intake", "Backfill", "Preparation", "Batching", "Embeddings", "VectorStore", "Acknowledgement"];

    /// <summary>The rooms every stage may use: the core, the queue room, metrics and log scopes, the performance seam, how settings are bound and their errors said, and token counting.</summary>
    public static readonly TheoryData<string> SharedRooms = ["Pipeline", "Messaging", "Diagnostics", "Transport", "Configuration", "Tokens"];

    /// <summary>Rooms that may see stages; nothing below them may see them.</summary>
    private static readonly string[] Outer = ["Hosting", "Cli", "Management"];

    private static readonly ArchUnitNET.Domain.Architecture Worker =
        new ArchLoader().LoadAssemblies(typeof(PipelineChannels).Assembly).Build();

    [Theory]
    [MemberData(nameof(Stages))]
    public void A_stage_uses_no_other_stage_and_no_outer_room(string stage)
    {
        var others = StagesExcept(stage).Concat(Outer).ToArray();
        IArchRule rule = Types().That().Are(Room(stage)).Should().NotDependOnAny(Rooms(others))
            .Because($"stages meet only in the core; {stage} must reach the others through Pipeline's channels and named routes");
        rule.Check(Worker);
    }

    [Theory]
    [MemberData(nameof(SharedRooms))]
    public void A_shared_room_uses_no_stage_and_no_outer_room(string room)
    {
        var stages = ((IEnumerable<TheoryDataRow<string>>)Stages).Select(r => r.Data).Concat(Outer).ToArray();
        IArchRule rule = Types().That().Are(Room(room)).Should().NotDependOnAny(Rooms(stages))
            .Because($"{room} is shared by every stage, so it can know none of them");
        rule.Check(Worker);
    }

    [Fact]
    public void The_queue_room_does_not_use_the_core()
    {
        // The core's job carries a queue lease; the arrow goes one way only.
        IArchRule rule = Types().That().Are(Room("Messaging")).Should().NotDependOnAny(Room("Pipeline"));
        rule.Check(Worker);
    }

    [Fact]
    public void Nothing_but_the_program_uses_the_wiring()
    {
        IArchRule rule = Types().That().AreNot(Room("Hosting")).And().DoNotResideInNamespace("").Should().NotDependOnAny(Room("Hosting"));
        rule.Check(Worker);
    }

    [Fact]
    public void Only_the_lifecycle_settles_a_job()
    {
        // A job ends in one place: no stage settles its progress, marks it rejected or writes its outcome itself.
        var settling = MethodMembers().That().HaveFullNameContaining("JobProgress::TrySettle(")
            .Or().HaveFullNameContaining("JobProgress::MarkRejected(")
            .Or().HaveFullNameContaining("JobOutcome::.ctor(");
        IArchRule rule = Types().That().AreNot(typeof(JobLifecycle)).Should().NotCallAny(settling)
            .Because("the lifecycle (Pipeline/JobLifecycle) is the one home of how a job ends");
        rule.Check(Worker);
    }

    [Fact]
    public void Only_the_ordering_service_writes_tombstones()
    {
        IArchRule rule = Types().That().AreNot(typeof(DocumentOrdering), typeof(TombstoneStore)).Should()
            .NotCallAny(MethodMembers().That().HaveFullNameContaining("TombstoneStore::WriteAsync("))
            .Because("the ordering rule has one home in the vector store: DocumentOrdering");
        rule.Check(Worker);
    }

    [Fact]
    public void Only_the_ordering_service_deletes_points()
    {
        // ArchUnitNET sees neither calls made inside lambdas nor the members of Qdrant.Client's types, so this one reads
        // the source: a file that holds a Qdrant client and deletes through it is DocumentOrdering, or the tombstone
        // store purging its own expired tombstones.
        var source = Path.Combine(RepositoryPaths.Root, "src", "Stackit.EmbeddingWorker");
        var deleting = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f) is var text && text.Contains("QdrantClient client", StringComparison.Ordinal)
                        && text.Contains("client.DeleteAsync(", StringComparison.Ordinal))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal);

        Assert.Equal(["DocumentOrdering.cs", "TombstoneStore.cs"], deleting);
    }

    [Fact]
    public void The_lifecycle_and_ordering_rules_find_a_settle_and_a_tombstone_where_there_is_one()
    {
        // The tests of the tests: the one home of each does what the rules forbid everywhere else.
        IArchRule settles = Types().That().Are(typeof(JobLifecycle)).Should().NotCallAny(MethodMembers().That().HaveFullNameContaining("JobProgress::TrySettle("));
        IArchRule remembers = Types().That().Are(typeof(DocumentOrdering)).Should().NotCallAny(MethodMembers().That().HaveFullNameContaining("TombstoneStore::WriteAsync("));
        Assert.False(settles.HasNoViolations(Worker));
        Assert.False(remembers.HasNoViolations(Worker));
    }

    [Fact]
    public void The_rule_finds_a_cross_stage_import_where_there_is_one()
    {
        // The test of the test: a type of one stage that names a type of another breaks the stage rule.
        IArchRule rule = Types().That().Are(Room("Hosting")).Should().NotDependOnAny(Room("Embeddings"));
        Assert.False(rule.HasNoViolations(Worker));
    }

    private static IEnumerable<string> StagesExcept(string stage) =>
        ((IEnumerable<TheoryDataRow<string>>)Stages).Select(r => r.Data).Where(s => s != stage);

    private static IObjectProvider<IType> Room(string name) =>
        Types().That().ResideInNamespaceMatching($@"^{Root.Replace(".", @"\.", StringComparison.Ordinal)}\.{name}(\..+)?$").As(name);

    private static IObjectProvider<IType> Rooms(string[] names) =>
        Types().That().ResideInNamespaceMatching($@"^{Root.Replace(".", @"\.", StringComparison.Ordinal)}\.({string.Join('|', names)})(\..+)?$").As(string.Join(", ", names));
}
