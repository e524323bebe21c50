using System.Security.Cryptography;

namespace Stackit.EmbeddingWorker.Testing.ChartRendering;

/// <summary>What <c>helm template</c> would print for a values file: the manifests, NOTES.txt, the coalesced values as JSON, or helm's error.</summary>
internal sealed record ChartRender(int ExitCode, string Manifests, string Notes, string ValuesJson, string Error)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// Renders the chart as helm does, without helm: <c>render.go</c> (beside this file) is helm's template engine —
/// Go's text/template, sprig and helm's own functions — built from Debian's packages. On first use the packages
/// are installed with apt-get when they are missing and the tests run as root (as on CI); elsewhere
/// <see cref="Unavailable"/> says why the rendering tests skip. The program is built once into
/// <c>.tools/chart-render/</c>, keyed by its source's hash.
/// </summary>
internal static class ChartRenderer
{
    private static readonly string[] Packages = ["golang-go", "golang-github-masterminds-sprig-dev", "golang-gopkg-yaml.v3-dev"];
    private const string GoPath = "/usr/share/gocode";
    private static readonly Lazy<Task<(string? Binary, string? Reason)>> Build = new(BuildAsync);

    public static string ChartDirectory { get; } = Path.Combine(RepositoryPaths.Root, "charts", "stackit-embedding-worker");

    /// <summary>Null when the renderer is ready; otherwise why it cannot run on this machine.</summary>
    public static async Task<string?> Unavailable() => (await Build.Value).Reason;

    /// <summary>Renders the chart with <paramref name="valuesYaml"/> laid over values.yaml, as <c>helm template -f</c>.</summary>
    public static async Task<ChartRender> RenderAsync(string valuesYaml, string releaseName = "release-name", string? chartDirectory = null)
    {
        var (binary, reason) = await Build.Value;
        if (binary is null)
        {
            throw new InvalidOperationException("The chart renderer is not available: " + reason);
        }
        var work = Directory.CreateTempSubdirectory("chart-render-");
        try
        {
            var values = Path.Combine(work.FullName, "values.yaml");
            var valuesOut = Path.Combine(work.FullName, "values.json");
            var notesOut = Path.Combine(work.FullName, "NOTES.txt");
            await File.WriteAllTextAsync(values, valuesYaml);
            var (code, stdout, stderr) = await ProcessRun.RunAsync(binary, ["-chart", chartDirectory ?? ChartDirectory, "-f", values, "-name", releaseName, "-namespace", "workers", "-values-out", valuesOut, "-notes-out", notesOut], null, TimeSpan.FromMinutes(1));
            return new ChartRender(
                code,
                stdout,
                File.Exists(notesOut) ? await File.ReadAllTextAsync(notesOut) : "",
                File.Exists(valuesOut) ? await File.ReadAllTextAsync(valuesOut) : "",
                stderr);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<(string?, string?)> BuildAsync()
    {
        var source = Path.Combine(RepositoryPaths.Root, "tests", "Stackit.EmbeddingWorker.Testing", "ChartRendering", "render.go");
        var hash = Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(source)))[..16].ToLowerInvariant();
        var dir = Path.Combine(RepositoryPaths.Root, ".tools", "chart-render");
        var binary = Path.Combine(dir, "render-" + hash);
        if (File.Exists(binary))
        {
            return (binary, null);
        }
        var missing = await InstallAsync();
        if (missing is not null)
        {
            return (null, missing);
        }
        Directory.CreateDirectory(dir);
        var env = new Dictionary<string, string>
        {
            ["GOPATH"] = GoPath,
            ["GO111MODULE"] = "off",
            ["GOCACHE"] = Path.Combine(dir, "gocache"),
            ["GOFLAGS"] = "",
            ["CGO_ENABLED"] = "0",
        };
        var (code, stdout, stderr) = await ProcessRun.RunAsync(Go()!, ["build", "-o", binary, source], env, TimeSpan.FromMinutes(5));
        return code == 0 ? (binary, null) : throw new InvalidOperationException($"go build of the chart renderer failed ({code}): {stdout}{stderr}");
    }

    /// <summary>Null once Go, sprig and yaml.v3 are on the machine; the reason they are not otherwise.</summary>
    private static async Task<string?> InstallAsync()
    {
        if (Present())
        {
            return null;
        }
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/apt-get"))
        {
            return $"needs Debian's {string.Join(", ", Packages)} (no apt-get on this machine to install them)";
        }
        if (Environment.UserName != "root")
        {
            return $"needs Debian's {string.Join(", ", Packages)}: install them with `sudo apt-get install {string.Join(' ', Packages)}` (the tests install them only when they run as root)";
        }
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        string[] install = ["install", "-y", "--no-install-recommends", .. Packages];
        var (code, _, _) = await ProcessRun.RunAsync("apt-get", install, env, TimeSpan.FromMinutes(10));
        if (code != 0)
        {
            // A fresh machine's package lists may be stale or absent.
            await ProcessRun.RunAsync("apt-get", ["update"], env, TimeSpan.FromMinutes(5));
            var (retry, stdout, stderr) = await ProcessRun.RunAsync("apt-get", install, env, TimeSpan.FromMinutes(10));
            if (retry != 0)
            {
                return $"apt-get install {string.Join(' ', Packages)} failed ({retry}): {Tail(stdout + stderr)}";
            }
        }
        return Present() ? null : $"apt-get installed {string.Join(", ", Packages)} but go or sprig is still missing";
    }

    private static bool Present() =>
        Go() is not null
        && File.Exists(Path.Combine(GoPath, "src/github.com/Masterminds/sprig/functions.go"))
        && File.Exists(Path.Combine(GoPath, "src/gopkg.in/yaml.v3/yaml.go"));

    private static string? Go()
    {
        foreach (var candidate in new[] { "/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}
