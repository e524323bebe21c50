namespace Stackit.EmbeddingWorker.Pipeline;

/// <summary>
/// The aliases a backfill of <c>&lt;alias&gt;</c> keeps beside it, by name: <c>&lt;alias&gt;_next</c> points to the target
/// while the backfill runs (the marker every replica looks for), <c>&lt;alias&gt;_previous</c> to what the alias pointed to
/// before its last switch. One home for the names, for the worker's stages and the <c>backfill</c> command alike.
/// </summary>
internal static class BackfillAliases
{
    private const string NextSuffix = "_next";
    private const string PreviousSuffix = "_previous";

    /// <summary>The marker of a running backfill of <paramref name="alias"/>: it points to the backfill's target.</summary>
    public static string Next(string alias) => alias + NextSuffix;

    /// <summary>What <paramref name="alias"/> pointed to before its last switch.</summary>
    public static string Previous(string alias) => alias + PreviousSuffix;

    /// <summary>
    /// The backfills running now, read from every alias and the collection it points to: for each alias with a marker,
    /// the collection the alias points to (its name where it is no alias) and the marker's target.
    /// </summary>
    public static Dictionary<string, (string Source, string Target)> Running(IReadOnlyDictionary<string, string> aliases) =>
        aliases
            .Where(a => a.Key.EndsWith(NextSuffix, StringComparison.Ordinal))
            .Select(a => (Alias: a.Key[..^NextSuffix.Length], Target: a.Value))
            .ToDictionary(a => a.Alias, a => (aliases.GetValueOrDefault(a.Alias) ?? a.Alias, a.Target), StringComparer.Ordinal);
}
