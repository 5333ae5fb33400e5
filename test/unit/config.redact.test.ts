// redactUrls: what an error may show of a URL. Each case is a credential a mirror or repository URL can carry.
import { describe, expect, it } from "vitest";
import { redactUrls, showValue } from "../../components/config/errors";

describe("redactUrls", () => {
  it.each([
    ["https://user:hunter2@mirror.example.com/em", "https://***@mirror.example.com/em"],
    ["http://tok3n@mirror.example.com:8080/", "http://***@mirror.example.com:8080/"],
    ["https://m.example.com/x?token=abc&page=2", "https://m.example.com/x?token=***&page=2"],
    ["https://m.example.com/x?access_token=abc", "https://m.example.com/x?access_token=***"],
    ["https://acct.blob.core.windows.net/c/f?sv=2024-01-01&sig=AbC%2Fd", "https://acct.blob.core.windows.net/c/f?sv=2024-01-01&sig=***"],
    ["https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA1&X-Amz-Signature=ff00&X-Amz-Security-Token=zz", "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***"],
    ["https://storage.googleapis.com/b/o?X-Goog-Signature=ab12", "https://storage.googleapis.com/b/o?X-Goog-Signature=***"],
    ["deb https://u:p@apt.example.com/mesos bookworm main", "deb https://***@apt.example.com/mesos bookworm main"],
  ])("%s", (url, shown) => {
    expect(redactUrls(url)).toBe(shown);
    expect(redactUrls(shown)).toBe(shown); // idempotent: a message redacted twice reads the same
  });

  it("leaves URLs without credentials as they are", () => {
    for (const u of ["https://mirror.example.com/em", "https://m.example.com/x?page=2&sort=asc", "file:///srv/bundle"]) expect(redactUrls(u)).toBe(u);
  });

  it("showValue redacts before it truncates, so a cut cannot leave a token's start", () => {
    const long = `https://user:hunter2@mirror.example.com/${"a".repeat(100)}?token=s3cr3t`;
    expect(showValue(long)).toMatch(/^"https:\/\/\*\*\*@mirror\.example\.com\/a+…$/);
    expect(showValue({ mirror: "https://user:hunter2@m.example.com/?token=s3cr3t" })).toBe('{"mirror":"https://***@m.example.com/?token=***"}');
  });
});
