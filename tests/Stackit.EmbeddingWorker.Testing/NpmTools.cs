using System.Diagnostics;

namespace Stackit.EmbeddingWorker.Testing;

/// <summary>
/// Node packages the tests run (Azurite, the reference tokenizer), each a pinned version installed with npm into
/// <c>.tools/&lt;package&gt;</c> on first use, so a fresh clone needs nothing but Node.js and npm.
/// </summary>
internal static class NpmTools
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>The install directory of <paramref name="package"/>@<paramref name="version"/>, once <paramref name="expected"/> (relative to it) exists.</summary>
    public static async Task<string> InstallAsync(string package, string version, string expected)
    {
        var prefix = Path.Combine(RepositoryPaths.Root, ".tools", package);
        await Gate.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(prefix, expected)))
            {
                return prefix;
            }
            Directory.CreateDirectory(prefix);
            var install = new ProcessStartInfo("npm")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", $"{package}@{version}" })
            {
                install.ArgumentList.Add(arg);
            }
            using var npm = Process.Start(install) ?? throw new InvalidOperationException($"npm did not start; Node.js and npm are needed to install {package}.");
            var stdout = npm.StandardOutput.ReadToEndAsync();
            var stderr = npm.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await npm.WaitForExitAsync(timeout.Token);
            if (npm.ExitCode != 0 || !File.Exists(Path.Combine(prefix, expected)))
            {
                throw new InvalidOperationException($"npm install {package}@{version} failed ({npm.ExitCode}): {await stdout}{await stderr}");
            }
            return prefix;
        }
        finally
        {
            Gate.Release();
        }
    }
}
