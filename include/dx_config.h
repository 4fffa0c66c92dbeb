/* dx_config: placeholder, being written. */
