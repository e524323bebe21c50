using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Tests.Security;

/// <summary>The image build, read as Docker reads it (no Docker engine here to build it).</summary>
public sealed class DockerfileTests
{
    private static readonly string[] Lines = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "Dockerfile"));

    /// <summary>The lines of the stage that compiles, from its FROM to the runtime stage's.</summary>
    private static readonly List<string> BuildStage = [.. Lines.SkipWhile(l => !l.StartsWith("FROM ${SDK_IMAGE}", StringComparison.Ordinal)).TakeWhile(l => !l.StartsWith("FROM ${RUNTIME_IMAGE}", StringComparison.Ordinal))];

    [Fact]
    public void Every_base_image_comes_from_a_build_argument_with_a_tag_so_a_release_can_pin_it_by_digest()
    {
        var firstFrom = Array.FindIndex(Lines, l => l.StartsWith("FROM ", StringComparison.Ordinal));
        var arguments = Lines.Take(firstFrom).Where(l => l.StartsWith("ARG ", StringComparison.Ordinal))
            .Select(l => l["ARG ".Length..].Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
        var froms = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToList();

        Assert.Equal(["${SDK_IMAGE}", "${RUNTIME_IMAGE}"], froms);
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", arguments["SDK_IMAGE"]);
        // The image carries its own .NET (self-contained): the runtime image only needs what .NET itself depends on.
        Assert.Equal("mcr.microsoft.com/dotnet/runtime-deps:10.0", arguments["RUNTIME_IMAGE"]);
    }

    [Fact]
    public void The_image_is_self_contained_and_compiled_ReadyToRun_as_one_composite_for_its_architecture_from_the_locked_restore()
    {
        var build = BuildStage;
        var restore = Command(build, "dotnet restore");
        var publish = Command(build, "dotnet publish");
        const string Architecture = "-r \"linux-$([ \"$TARGETARCH\" = arm64 ] && echo arm64 || echo x64)\"";

        Assert.Contains("ARG TARGETARCH", build);
        Assert.Contains("--locked-mode", restore, StringComparison.Ordinal);
        // The restore brings what the publish needs (--no-restore): the runtime packs of both architectures the project
        // names and the ahead-of-time compiler. Naming one of them, locked mode refuses the lock file (run below).
        Assert.DoesNotContain("-r ", restore, StringComparison.Ordinal);
        Assert.Contains("-p:SelfContained=true", restore, StringComparison.Ordinal);
        Assert.Contains("-p:PublishReadyToRun=true", restore, StringComparison.Ordinal);
        Assert.Contains(Architecture, publish, StringComparison.Ordinal);
        Assert.Contains("--self-contained true", publish, StringComparison.Ordinal);
        Assert.Contains("-p:PublishReadyToRun=true", publish, StringComparison.Ordinal);
        Assert.Contains("-p:PublishReadyToRunComposite=true", publish, StringComparison.Ordinal);
        Assert.Contains("--no-restore", publish, StringComparison.Ordinal);
        // No dotnet host in the runtime image: the entry point is the worker's own executable.
        Assert.Contains("ENTRYPOINT [\"/app/Stackit.EmbeddingWorker\"]", Lines);
        var project = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "src", "Stackit.EmbeddingWorker", "Stackit.EmbeddingWorker.csproj"));
        Assert.Contains("<RuntimeIdentifiers>linux-x64;linux-arm64</RuntimeIdentifiers>", project, StringComparison.Ordinal);
        var lockFile = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "src", "Stackit.EmbeddingWorker", "packages.lock.json"));
        Assert.Contains("\"net10.0/linux-x64\"", lockFile, StringComparison.Ordinal);
        Assert.Contains("\"net10.0/linux-arm64\"", lockFile, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_build_stages_locked_restore_runs_on_what_the_Dockerfile_copies_before_it()
    {
        // The restore once named the architecture (-r linux-x64): locked mode then refuses the lock file, which holds
        // both architectures the project names (NU1004), and the image could not be built. Run here as Docker runs it:
        // by the shell, in a directory holding only what the COPY lines before it bring, for amd64.
        var build = BuildStage;
        var restore = Command(build, "dotnet restore");
        var context = Directory.CreateTempSubdirectory("dockerfile-restore-");
        try
        {
            foreach (var copy in build.TakeWhile(l => !l.Contains("dotnet restore", StringComparison.Ordinal)).Where(l => l.StartsWith("COPY ", StringComparison.Ordinal)))
            {
                var parts = copy["COPY ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var destination = Directory.CreateDirectory(Path.Combine(context.FullName, parts[^1])).FullName;
                foreach (var source in parts[..^1])
                {
                    File.Copy(Path.Combine(RepositoryPaths.Root, source), Path.Combine(destination, Path.GetFileName(source)));
                }
            }

            var (code, stdout, stderr) = await ProcessRun.RunAsync("sh", ["-c", $"cd '{context.FullName}' && {restore["RUN ".Length..].Replace("\\", " ", StringComparison.Ordinal)}"],
                new Dictionary<string, string> { ["TARGETARCH"] = "amd64" }, TimeSpan.FromMinutes(5));

            Assert.True(code == 0, $"the build stage's restore failed ({code}):\n{stdout}{stderr}");
        }
        finally
        {
            context.Delete(recursive: true);
        }
    }

    /// <summary>One RUN command of the build stage, its continued lines joined.</summary>
    private static string Command(List<string> build, string name) =>
        string.Join(' ', build.SkipWhile(l => !l.Contains(name, StringComparison.Ordinal)).TakeWhile(l => l.Length > 0)
            .Select((l, i) => (l, i)).TakeWhile(p => p.i == 0 || !p.l.StartsWith("COPY ", StringComparison.Ordinal) && !p.l.StartsWith("RUN ", StringComparison.Ordinal)).Select(p => p.l));

    [Fact]
    public void The_image_runs_as_the_unprivileged_user_with_the_workstation_garbage_collector()
    {
        Assert.Contains("USER $APP_UID", Lines);
        Assert.Contains(Lines, l => l.Contains("DOTNET_gcServer=0", StringComparison.Ordinal));
    }
}
