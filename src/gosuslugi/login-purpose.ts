/** What a round trip to Госуслуги is for: the callback's branch, chosen when the trip starts. */
export enum LoginPurpose {
  Login = 'login',
  Link = 'link',
  /** Accepting a ПОС invitation. */
  Invite = 'invite',
  /** Back from Госуслуги with an identity to link: waits for the person to confirm it. */
  LinkConfirm = 'link_confirm',
}
