using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Tests.Security;

/// <summary>The image build, read as Docker reads it (no Docker engine here to build it).</summary>
public sealed class DockerfileTests
{
    private static readonly string[] Lines = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "Dockerfile"));

    [Fact]
    public void Every_base_image_comes_from_a_build_argument_with_a_tag_so_a_release_can_pin_it_by_digest()
    {
        var firstFrom = Array.FindIndex(Lines, l => l.StartsWith("FROM ", StringComparison.Ordinal));
        var arguments = Lines.Take(firstFrom).Where(l => l.StartsWith("ARG ", StringComparison.Ordinal))
            .Select(l => l["ARG ".Length..].Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
        var froms = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToList();

        Assert.Equal(["${SDK_IMAGE}", "${RUNTIME_IMAGE}"], froms);
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", arguments["SDK_IMAGE"]);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", arguments["RUNTIME_IMAGE"]);
    }

    [Fact]
    public void The_image_runs_as_the_unprivileged_user_with_the_workstation_garbage_collector()
    {
        Assert.Contains("USER $APP_UID", Lines);
        Assert.Contains(Lines, l => l.Contains("DOTNET_gcServer=0", StringComparison.Ordinal));
    }
}
