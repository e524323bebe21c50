using System.Security.Cryptography;
using System.Text;

namespace Stackit.EmbeddingWorker.Backfill;

/// <summary>
/// An HMAC-SHA256 of a page's alias, source, target and ids under <c>Backfill:PageKey</c>: with a key set, replicas
/// and the backfill command sign the pages they make, and a page without a valid signature is poisoned, so a holder
/// of the storage credential alone cannot forge one.
/// </summary>
internal static class PageSignature
{
    public static string Of(BackfillPage page, string key)
    {
        var canonical = new StringBuilder()
            .Append(page.Alias).Append('\n')
            .Append(page.Source).Append('\n')
            .Append(page.Target);
        foreach (var id in page.Ids)
        {
            canonical.Append('\n').Append(id);
        }
        return Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    public static BackfillPage Sign(BackfillPage page, string? key) =>
        key is { Length: > 0 } ? page with { Signature = Of(page, key) } : page;

    public static bool IsValid(BackfillPage page, string key) =>
        page.Signature is { } given
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(given), Encoding.ASCII.GetBytes(Of(page, key)));
}
