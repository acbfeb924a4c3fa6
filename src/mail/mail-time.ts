/** A moment as the mails say it: Moscow time, the date in words and the time («24 ноября 2026 г. в 15:52»). */
export function mailTime(at: Date): string {
  return at.toLocaleString('ru-RU', {
    timeZone: 'Europe/Moscow',
    dateStyle: 'long',
    timeStyle: 'short',
  });
}
