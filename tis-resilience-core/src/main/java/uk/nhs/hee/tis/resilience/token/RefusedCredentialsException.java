package uk.nhs.hee.tis.resilience.token;

/**
 * Thrown by a {@link ServiceTokenCache.TokenSource} when the token endpoint answered and refused the
 * client's credentials (RFC 6749 section 5.2: {@code invalid_client}, {@code unauthorized_client},
 * {@code invalid_grant}, {@code invalid_scope}), as opposed to being unreachable. Asking again soon
 * will not help: the cache backs off and logs one ERROR line naming the client.
 *
 * @since 0.2.0
 */
public class RefusedCredentialsException extends Exception {

	private static final long serialVersionUID = 1L;

	/**
	 * Creates the exception.
	 * @param error the OAuth 2.0 error code the endpoint gave, such as {@code invalid_client}
	 * @param cause what the token client threw
	 */
	public RefusedCredentialsException(String error, Throwable cause) {
		super(error, cause);
	}

}
