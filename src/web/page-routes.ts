import { applyDecorators, Get, Post } from '@nestjs/common';
import { CredentialEndpoint, Page, Public } from '../common/auth-decorators.js';
import { FormPost } from '../rendering/form-post.js';

/**
 * The kinds of route the pages are made of, each named once: what it lets in (anyone, or a
 * signed-in person), whether it is a form (Origin check and form token) and whether it guesses a
 * credential (the stricter per-IP limit).
 */

/** A page anyone may open (`GET`). */
export const PublicPage = (path?: string) => applyDecorators(Get(path), Public());

/** A signed-in page (`GET`): the guard loads the session or sends the browser to /login. */
export const SignedInPage = (path?: string) => applyDecorators(Get(path), Page());

/** A signed-in page's form; a browser without a session logs in and comes back to `returnTo`. */
export const PageForm = (returnTo: string, path?: string) =>
  applyDecorators(Post(path), Page({ returnTo }), FormPost());

/** A form anyone may post that tries a credential or a link's token. */
export const CredentialForm = (path?: string) =>
  applyDecorators(Post(path), Public(), FormPost(), CredentialEndpoint());
